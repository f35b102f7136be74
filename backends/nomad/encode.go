package nomad

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/hashicorp/nomad/api"
	"github.com/zclconf/go-cty/cty"
)

// The api types say nothing of which fields were set, and their JSON
// spells out every nil and zero. Both encoders below walk a job by
// reflection and write only the fields that are set: non-nil pointers
// (a pointer to zero, like count = 0, is a choice) and non-zero values.

type field struct {
	sf reflect.StructField
	v  reflect.Value
}

// setFields lists the set fields of struct v, in declaration order.
func setFields(v reflect.Value) []field {
	var out []field
	for i := range v.NumField() {
		sf, fv := v.Type().Field(i), v.Field(i)
		if !sf.IsExported() {
			continue
		}
		switch fv.Kind() {
		case reflect.Pointer, reflect.Interface:
			if fv.IsNil() {
				continue
			}
		case reflect.Map, reflect.Slice:
			if fv.Len() == 0 {
				continue
			}
		default:
			if fv.IsZero() {
				continue
			}
		}
		out = append(out, field{sf, fv})
	}
	return out
}

var durationType = reflect.TypeFor[time.Duration]()

// JSON encodes a job as `nomad job run -json` and the HTTP API take it:
// {"Job": {...}}, indented, with sorted keys.
func JSON(job *api.Job) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(map[string]any{"Job": jsonValue(reflect.ValueOf(job))}); err != nil {
		return nil, fmt.Errorf("encoding job %s as JSON: %w", deref(job.ID), err)
	}
	return b.Bytes(), nil
}

func jsonValue(v reflect.Value) any {
	if v.Type() == durationType {
		return v.Int() // the API's durations are nanoseconds
	}
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		return jsonValue(v.Elem())
	case reflect.Struct:
		m := map[string]any{}
		for _, f := range setFields(v) {
			name, _, _ := strings.Cut(f.sf.Tag.Get("json"), ",")
			if name == "-" {
				continue
			}
			m[cmp.Or(name, f.sf.Name)] = jsonValue(f.v)
		}
		return m
	case reflect.Slice:
		out := make([]any, v.Len())
		for i := range out {
			out[i] = jsonValue(v.Index(i))
		}
		return out
	case reflect.Map:
		m := map[string]any{}
		for it := v.MapRange(); it.Next(); {
			m[fmt.Sprint(it.Key().Interface())] = jsonValue(it.Value())
		}
		return m
	}
	return v.Interface()
}

// HCL writes a job as a Nomad job specification. Field names and block
// structure come from the api types' hcl tags, which Nomad's own parser
// reads, so the file parses back into the same job. The text is written
// as hclwrite.Format lays it out (two-space indents, the = of a body's
// attributes aligned), straight into one buffer: building an hclwrite
// syntax tree and formatting it cost a millisecond a component.
func HCL(job *api.Job) ([]byte, error) {
	w := &hclWriter{}
	if err := w.block("job", []string{deref(job.ID)}, reflect.ValueOf(job).Elem(), 0, "job"); err != nil {
		return nil, fmt.Errorf("writing job %s as HCL: %w", deref(job.ID), err)
	}
	return w.b.Bytes(), nil
}

// hclWriter writes HCL text.
type hclWriter struct{ b bytes.Buffer }

// attr is one attribute of a body, its value written out.
type attr struct {
	name, value string
	heredoc     bool
}

// block writes a block of struct v's set fields.
func (w *hclWriter) block(name string, labels []string, v reflect.Value, depth int, where string) error {
	attrs, blocks, err := bodyOf(v, where)
	if err != nil {
		return err
	}
	w.open(name, labels, depth)
	w.attrs(attrs, depth+1)
	for _, f := range blocks {
		name, _, _ := strings.Cut(f.sf.Tag.Get("hcl"), ",")
		if err := w.blocks(name, f.v, depth+1, where+"."+name); err != nil {
			return err
		}
	}
	w.close(depth)
	return nil
}

// bodyOf sorts the set fields of struct v into attributes and blocks:
// attributes are written first, then blocks, then labelled blocks
// (groups, tasks), each in declaration order, so a job or group reads its
// own settings before its parts.
func bodyOf(v reflect.Value, where string) ([]attr, []field, error) {
	var attrs []attr
	var blocks []field
	for _, f := range setFields(v) {
		tag, ok := f.sf.Tag.Lookup("hcl")
		name, kind, _ := strings.Cut(tag, ",")
		switch {
		case !ok:
			return nil, nil, fmt.Errorf("%s.%s is set but has no HCL form", where, f.sf.Name)
		case kind == "label" || (where == "job" && name == "id"):
			continue // written as the block's label
		case kind == "block":
			blocks = append(blocks, f)
			continue
		}
		if s, ok := multiline(f.v); ok {
			attrs = append(attrs, attr{name: name, value: heredoc(s), heredoc: true})
			continue
		}
		val, err := hclValue(f.v)
		if err != nil {
			return nil, nil, fmt.Errorf("%s.%s: %w", where, name, err)
		}
		attrs = append(attrs, attr{name: name, value: val})
	}
	slices.SortStableFunc(blocks, func(a, b field) int { return cmp.Compare(labelled(a.sf.Type), labelled(b.sf.Type)) })
	return attrs, blocks, nil
}

// blocks writes a block field: a struct, a list of labelled structs, or a
// map, which becomes one block of attributes (meta, env, config).
func (w *hclWriter) blocks(name string, v reflect.Value, depth int, where string) error {
	switch v.Kind() {
	case reflect.Pointer:
		return w.blocks(name, v.Elem(), depth, where)
	case reflect.Slice:
		for i := range v.Len() {
			if err := w.blocks(name, v.Index(i), depth, where); err != nil {
				return err
			}
		}
		return nil
	case reflect.Map:
		attrs, err := mapAttrs(v, where)
		if err != nil {
			return err
		}
		w.open(name, nil, depth)
		w.attrs(attrs, depth+1)
		w.close(depth)
		return nil
	case reflect.Struct:
		return w.block(name, labels(v), v, depth, where)
	}
	return fmt.Errorf("%s: a %s has no HCL block form", where, v.Type())
}

// mapAttrs are the entries of a map of strings to values, sorted by key.
func mapAttrs(v reflect.Value, where string) ([]attr, error) {
	if v.Type().Key().Kind() != reflect.String || v.Type().Elem().Kind() == reflect.Pointer {
		return nil, fmt.Errorf("%s: a map of %s has no HCL form here", where, v.Type().Elem())
	}
	keys := make([]string, 0, v.Len())
	for _, k := range v.MapKeys() {
		keys = append(keys, k.String())
	}
	slices.Sort(keys)
	attrs := make([]attr, 0, len(keys))
	for _, k := range keys {
		if !hclsyntax.ValidIdentifier(k) {
			return nil, fmt.Errorf("%s: key %q is not an HCL identifier", where, k)
		}
		val, err := hclValue(v.MapIndex(reflect.ValueOf(k)))
		if err != nil {
			return nil, fmt.Errorf("%s.%s: %w", where, k, err)
		}
		attrs = append(attrs, attr{name: k, value: val})
	}
	return attrs, nil
}

func (w *hclWriter) indent(depth int) {
	for range depth {
		w.b.WriteString("  ")
	}
}

func (w *hclWriter) open(name string, labels []string, depth int) {
	w.indent(depth)
	w.b.WriteString(name)
	for _, l := range labels {
		w.b.WriteByte(' ')
		w.b.WriteString(quoted(l))
	}
	w.b.WriteString(" {\n")
}

func (w *hclWriter) close(depth int) {
	w.indent(depth)
	w.b.WriteString("}\n")
}

// attrs writes a body's attributes, their = aligned as hclwrite.Format
// aligns a run of attributes (a heredoc's lines do not break the run).
func (w *hclWriter) attrs(attrs []attr, depth int) {
	width := 0
	for _, a := range attrs {
		width = max(width, utf8.RuneCountInString(a.name))
	}
	for _, a := range attrs {
		w.indent(depth)
		w.b.WriteString(a.name)
		for range width - utf8.RuneCountInString(a.name) {
			w.b.WriteByte(' ')
		}
		w.b.WriteString(" = ")
		w.b.WriteString(a.value)
		if !a.heredoc {
			w.b.WriteByte('\n')
		}
	}
}

// labelled tells 1 for a list of structs with label fields, else 0.
func labelled(t reflect.Type) int {
	if t.Kind() != reflect.Slice {
		return 0
	}
	if t = t.Elem(); t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct {
		return 0
	}
	for i := range t.NumField() {
		if _, kind, _ := strings.Cut(t.Field(i).Tag.Get("hcl"), ","); kind == "label" {
			return 1
		}
	}
	return 0
}

// labels are the values of a struct's label fields.
func labels(v reflect.Value) []string {
	var out []string
	for i := range v.NumField() {
		if _, kind, _ := strings.Cut(v.Type().Field(i).Tag.Get("hcl"), ","); kind == "label" {
			out = append(out, fmt.Sprint(reflect.Indirect(v.Field(i)).Interface()))
		}
	}
	return out
}

// multiline tells whether v is text of whole lines, which reads best as a
// heredoc: templates.
func multiline(v reflect.Value) (string, bool) {
	v = reflect.Indirect(v)
	if v.Kind() != reflect.String {
		return "", false
	}
	s := v.String()
	return s, strings.HasSuffix(s, "\n") && !slices.Contains(strings.Split(s, "\n"), "EOT")
}

// heredoc writes s as an HCL heredoc, escaping HCL's own template
// sequences so the text arrives as it is.
func heredoc(s string) string {
	return "<<EOT\n" + templateEscaper.Replace(s) + "EOT\n"
}

var templateEscaper = strings.NewReplacer("${", "$${", "%{", "%%{")

// hclValue is an attribute's value as HCL writes it.
func hclValue(v reflect.Value) (string, error) {
	val, err := ctyValue(v)
	if err != nil {
		return "", err
	}
	return string(hclwrite.TokensForValue(val).Bytes()), nil
}

// quoted is s as an HCL string literal.
func quoted(s string) string {
	return string(hclwrite.TokensForValue(cty.StringVal(s)).Bytes())
}

// ctyValue converts an attribute's value; durations become Go duration
// text ("30s"), as Nomad's job specifications write them.
func ctyValue(v reflect.Value) (cty.Value, error) {
	if v.Type() == durationType {
		return cty.StringVal(durationText(time.Duration(v.Int()))), nil
	}
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		return ctyValue(v.Elem())
	case reflect.String:
		return cty.StringVal(v.String()), nil
	case reflect.Bool:
		return cty.BoolVal(v.Bool()), nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return cty.NumberIntVal(v.Int()), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return cty.NumberUIntVal(v.Uint()), nil
	case reflect.Float32, reflect.Float64:
		return cty.NumberFloatVal(v.Float()), nil
	case reflect.Slice:
		if v.Len() == 0 {
			return cty.ListValEmpty(cty.String), nil
		}
		vals := make([]cty.Value, v.Len())
		for i := range vals {
			var err error
			if vals[i], err = ctyValue(v.Index(i)); err != nil {
				return cty.NilVal, err
			}
		}
		return cty.TupleVal(vals), nil
	}
	return cty.NilVal, fmt.Errorf("a %s has no HCL attribute form", v.Type())
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

// durationText is Go's duration text without its trailing zero units:
// "5m" rather than "5m0s".
func durationText(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
