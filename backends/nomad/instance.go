package nomad

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"

	"github.com/meshc/meshc/planner/plan"
)

// Template delimiters. The instance plan is JSON with HTML characters
// escaped, so it never holds them and needs no escaping of its own.
const (
	leftDelim  = "<<"
	rightDelim = ">>"
)

// instanceWriter writes the instance plans of a plan's components as
// json.MarshalIndent writes an Instance, with the replica index left to
// Nomad. Version and mesh are the same for every component and encoded
// once; each component is written by a planEncoder.
type instanceWriter struct {
	head []byte         // the instance plan up to the component
	comp plan.Component // the component, its replica count left out
	enc  planEncoder
	out  []byte
}

func newInstanceWriter(p *plan.Plan) (*instanceWriter, error) {
	w := &instanceWriter{enc: planEncoderOf(reflect.TypeFor[plan.Component]())}
	w.head = append(w.head, "{\n  \"apiVersion\": "...)
	if err := w.indented(p.APIVersion); err != nil {
		return nil, err
	}
	w.head = append(w.head, ",\n  \"mesh\": "...)
	if err := w.indented(p.Mesh); err != nil {
		return nil, err
	}
	w.head = append(w.head, ",\n  \"component\": "...)
	return w, nil
}

// indented appends v to the head, indented to its depth in the plan.
func (w *instanceWriter) indented(v any) error {
	b, err := json.MarshalIndent(v, "  ", "  ")
	if err != nil {
		return fmt.Errorf("encoding the instance plan: %w", err)
	}
	w.head = append(w.head, b...)
	return nil
}

// plan is the instance plan of c as a template. The replica count is
// left out: a change of count must not change the instances that stay.
// The plan is JSON with < > & escaped, so no delimiter can appear in it.
func (w *instanceWriter) plan(c *plan.Component) (string, error) {
	w.comp = *c
	w.comp.Replicas = plan.Replicas{}
	b, err := w.enc(append(w.out[:0], w.head...), reflect.ValueOf(&w.comp).Elem(), 1)
	if err != nil {
		return "", fmt.Errorf("encoding the instance plan: %w", err)
	}
	w.out = append(b, ",\n  \"index\": "+leftDelim+" env \"NOMAD_ALLOC_INDEX\" "+rightDelim+"\n}\n"...)
	return string(w.out), nil
}

// appendIndent appends the JSON of src indented as json.Indent indents
// it, without json.Indent's check that src is JSON: src is what
// encoding/json just wrote. A line starts with prefix and indent for
// each level; an empty object or array stays {} or []; space after the
// value is kept.
func appendIndent(dst, src []byte, prefix, indent string) []byte {
	value := bytes.TrimRight(src, " \t\r\n")
	return append(indentValue(dst, value, prefix, indent), src[len(value):]...)
}

func indentValue(dst, src []byte, prefix, indent string) []byte {
	depth := 0
	opened := false // the newline after { or [ waits for what comes next
	for i := 0; i < len(src); i++ {
		c := src[i]
		if c == ' ' || c == '\t' || c == '\n' || c == '\r' {
			continue
		}
		if opened && c != '}' && c != ']' {
			opened = false
			depth++
			dst = appendNewline(dst, prefix, indent, depth)
		}
		switch c {
		case '"':
			end := stringEnd(src, i)
			dst = append(dst, src[i:end]...)
			i = end - 1
		case '{', '[':
			opened = true
			dst = append(dst, c)
		case ',':
			dst = appendNewline(append(dst, c), prefix, indent, depth)
		case ':':
			dst = append(dst, c, ' ')
		case '}', ']':
			if opened {
				opened = false
			} else {
				depth--
				dst = appendNewline(dst, prefix, indent, depth)
			}
			dst = append(dst, c)
		default:
			dst = append(dst, c)
		}
	}
	return dst
}

// stringEnd is the index after the end of the JSON string starting at
// src[i].
func stringEnd(src []byte, i int) int {
	for j := i + 1; j < len(src); j++ {
		switch src[j] {
		case '\\':
			j++
		case '"':
			return j + 1
		}
	}
	return len(src)
}

func appendNewline(dst []byte, prefix, indent string, depth int) []byte {
	dst = append(append(dst, '\n'), prefix...)
	for range depth {
		dst = append(dst, indent...)
	}
	return dst
}
