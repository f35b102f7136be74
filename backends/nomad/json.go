package nomad

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"reflect"
	"slices"
	"strconv"

	"github.com/hashicorp/nomad/api"

	"github.com/meshc/meshc/internal/jsontext"
)

// JSON encodes a job as `nomad job run -json` and the HTTP API take it:
// {"Job": {...}}, indented, with sorted keys, as encoding/json writes a
// map with HTML left as it is. Durations are nanoseconds, as the API
// counts them.
func JSON(job *api.Job) ([]byte, error) {
	return (&jsonWriter{}).job(job)
}

// WriteJSON writes the JSON of a job to out as it is made, a few groups
// at a time, never holding its whole text.
func WriteJSON(out io.Writer, job *api.Job) error { return writeJSON(out, job, nil) }

// writeJSON is WriteJSON, with the job's groups made by groups as they
// are written when it is set.
func writeJSON(out io.Writer, job *api.Job, groups groupMaker) error {
	b, err := (&jsonWriter{out: out, groups: groups}).job(job)
	if err == nil {
		_, err = out.Write(b)
	}
	return err
}

// jsonWriter writes indented JSON. Its methods append to a buffer they
// are given and return it, as hclWriter's do.
type jsonWriter struct {
	keys []string  // room for sorting a map's keys
	out  io.Writer // when set, takes the text as the lists of a job are written
	// groups, when set, makes each of the job's groups as it is written.
	groups groupMaker
}

// job writes a job and returns what it has not written out.
func (w *jsonWriter) job(job *api.Job) ([]byte, error) {
	b, err := w.value([]byte("{\n  \"Job\": "), reflect.ValueOf(job), 1)
	if err != nil {
		return nil, fmt.Errorf("encoding job %s as JSON: %w", deref(job.ID), err)
	}
	return append(b, "\n}\n"...), nil
}

// newline starts a line at depth.
func newline(b []byte, depth int) []byte {
	return indent(append(b, '\n'), depth)
}

// value writes v at depth, without a newline after it.
func (w *jsonWriter) value(b []byte, v reflect.Value, depth int) ([]byte, error) {
	if !v.IsValid() {
		return append(b, "null"...), nil
	}
	if v.Type() == durationType {
		return strconv.AppendInt(b, v.Int(), 10), nil
	}
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		return w.value(b, v.Elem(), depth)
	case reflect.Struct:
		return w.object(b, v, depth)
	case reflect.Slice:
		return w.array(b, v, depth)
	case reflect.Map:
		return w.mapObject(b, v, depth)
	}
	if v.Type().PkgPath() != "" {
		// A named type may have a method of its own for encoding/json.
		return marshal(b, v.Interface(), depth)
	}
	switch v.Kind() {
	case reflect.String:
		return jsontext.AppendString(b, v.String(), false), nil
	case reflect.Bool:
		return strconv.AppendBool(b, v.Bool()), nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return strconv.AppendInt(b, v.Int(), 10), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return strconv.AppendUint(b, v.Uint(), 10), nil
	}
	return marshal(b, v.Interface(), depth)
}

// marshal writes what the writer has no way of its own for (floats among
// them) as encoding/json writes it.
func marshal(b []byte, x any, depth int) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent(string(indent(nil, depth)), "  ")
	if err := enc.Encode(x); err != nil {
		return b, err
	}
	return append(b, bytes.TrimSuffix(buf.Bytes(), []byte("\n"))...), nil
}

// object writes the set fields of struct v.
func (w *jsonWriter) object(b []byte, v reflect.Value, depth int) ([]byte, error) {
	b = append(b, '{')
	empty := true
	s, fields := structOf(v), infoOf(v.Type()).json
	for i := range fields {
		f := &fields[i]
		if !f.isSet(s) {
			continue
		}
		fv := v.Field(f.index)
		if !empty {
			b = append(b, ',')
		}
		empty = false
		b = append(newline(b, depth+1), f.key...)
		var err error
		if b, err = w.value(b, fv, depth+1); err != nil {
			return b, err
		}
	}
	return end(b, empty, '}', depth), nil
}

// end closes an object or array: {} or [] when empty.
func end(b []byte, empty bool, c byte, depth int) []byte {
	if !empty {
		b = newline(b, depth)
	}
	return append(b, c)
}

func (w *jsonWriter) array(b []byte, v reflect.Value, depth int) ([]byte, error) {
	b = append(b, '[')
	start := len(b)
	made := w.groups.makes(v)
	for i := range v.Len() {
		if i > 0 {
			b = append(b, ',')
		}
		var err error
		if made {
			if err := w.groups.make(v, i); err != nil {
				return b, err
			}
		}
		if b, err = w.value(newline(b, depth+1), v.Index(i), depth+1); err != nil {
			return b, err
		}
		if made {
			v.Index(i).SetZero() // written: let go of it
		}
		if b, err = spill(w.out, b, start, i+1, v.Len()); err != nil {
			return b, err
		}
	}
	return end(b, v.Len() == 0, ']', depth), nil
}

// mapObject writes a map as an object with sorted keys, each key the
// text fmt makes of it.
func (w *jsonWriter) mapObject(b []byte, v reflect.Value, depth int) ([]byte, error) {
	start := len(w.keys)
	switch m := v.Interface().(type) {
	case map[string]string: // meta, env: no reflection
		w.keys = slices.AppendSeq(w.keys, maps.Keys(m))
	case map[string]any:
		w.keys = slices.AppendSeq(w.keys, maps.Keys(m))
	default:
		return w.anyMap(b, v, depth)
	}
	keys := w.keys[start:]
	defer func() { w.keys = w.keys[:start] }()
	slices.Sort(keys)
	b = append(b, '{')
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(jsontext.AppendString(newline(b, depth+1), k, false), ": "...)
		switch m := v.Interface().(type) {
		case map[string]string:
			b = jsontext.AppendString(b, m[k], false)
		case map[string]any:
			var err error
			if b, err = w.value(b, reflect.ValueOf(m[k]), depth+1); err != nil {
				return b, err
			}
		}
	}
	return end(b, len(keys) == 0, '}', depth), nil
}

// anyMap writes a map of other types, by reflection.
func (w *jsonWriter) anyMap(b []byte, v reflect.Value, depth int) ([]byte, error) {
	entries := map[string]reflect.Value{}
	for it := v.MapRange(); it.Next(); {
		entries[fmt.Sprint(it.Key().Interface())] = it.Value()
	}
	b = append(b, '{')
	for i, k := range slices.Sorted(maps.Keys(entries)) {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(jsontext.AppendString(newline(b, depth+1), k, false), ": "...)
		var err error
		if b, err = w.value(b, entries[k], depth+1); err != nil {
			return b, err
		}
	}
	return end(b, len(entries) == 0, '}', depth), nil
}
