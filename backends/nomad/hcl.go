package nomad

import (
	"fmt"
	"io"
	"maps"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
	"unsafe"

	"github.com/hashicorp/nomad/api"
)

// HCL writes a job as a Nomad job specification. Field names and block
// structure come from the api types' hcl tags, which Nomad's own parser
// reads, so the file parses back into the same job. The text is laid out
// as hclwrite.Format lays it out (two-space indents, the = of a body's
// attributes aligned). A body lists its attributes first, then its
// blocks, then its labelled blocks (groups, tasks), each in declaration
// order, so a job or group reads its own settings before its parts.
func HCL(job *api.Job) ([]byte, error) {
	return (&hclWriter{where: []string{"job"}}).job(job)
}

// WriteHCL writes the HCL of a job to out as it is made, a few groups at
// a time, never holding its whole text.
func WriteHCL(out io.Writer, job *api.Job) error { return writeHCL(out, job, nil, nil) }

// writeHCL is WriteHCL, with the job's groups made by groups as they are
// written when it is set.
func writeHCL(out io.Writer, job *api.Job, groups groupMaker, parts *groupParts) error {
	b, err := (&hclWriter{where: []string{"job"}, out: out, groups: groups, parts: parts}).job(job)
	if err == nil {
		_, err = out.Write(b)
	}
	return err
}

// job writes a job and returns what it has not written out.
func (w *hclWriter) job(job *api.Job) ([]byte, error) {
	b := appendHCLString([]byte("job "), deref(job.ID))
	b, err := w.body(b, reflect.ValueOf(job).Elem(), 1)
	if err != nil {
		return nil, fmt.Errorf("writing job %s as HCL: %w", deref(job.ID), err)
	}
	return b, nil
}

// hclWriter writes HCL text. Its methods append to a buffer they are
// given and return it, as strconv's Append functions do: a buffer kept in
// the writer cost a write barrier at every append while the collector
// ran.
type hclWriter struct {
	where     []string                 // the blocks being written, for errors
	keys      []string                 // room for sorting a map's keys
	set       []int                    // room for the set attributes of the bodies being written
	durations map[time.Duration]string // their text, written over and over
	memos     []memo                   // by hclField.memo
	groups    groupMaker               // when set, makes each of the job's groups as it is written
	parts     *groupParts              // what groups makes each group in, again for each
	// out, when set, takes the text after each of the job's own blocks
	// (its groups), where no memo is half written.
	out io.Writer
}

// memo is where in the buffer a block was last written from a value at
// an address. A job's groups share values (policies, network, environment,
// config, resources, templates), and a value at the same address is the
// same value while a job is written: its block in the same place is the
// same text, copied rather than written again.
type memo struct {
	at         unsafe.Pointer
	depth      int
	start, end int
}

// errorf is an error at the block being written.
func (w *hclWriter) errorf(format string, args ...any) error {
	return fmt.Errorf("%s: %w", strings.Join(w.where, "."), fmt.Errorf(format, args...))
}

// at is an error at field name of the block being written.
func (w *hclWriter) at(name string, err error) error {
	return fmt.Errorf("%s.%s: %w", strings.Join(w.where, "."), name, err)
}

// body writes the set fields of struct v as the body of a block, its
// name and labels already written, braces and all.
func (w *hclWriter) body(b []byte, v reflect.Value, depth int) ([]byte, error) {
	b = append(b, " {\n"...)
	info := infoOf(v.Type())
	s := structOf(v)
	for i := range info.untagged {
		if f := &info.untagged[i]; f.isSet(s) {
			return b, fmt.Errorf("%s.%s is set but has no HCL form", strings.Join(w.where, "."), f.name)
		}
	}
	// The set attributes, found once: their widest name aligns them.
	start := len(w.set)
	defer func() { w.set = w.set[:start] }()
	width := 0
	for i := range info.attrs {
		if f := &info.attrs[i]; f.isSet(s) {
			w.set = append(w.set, i)
			width = max(width, f.width)
		}
	}
	var err error
	for _, i := range w.set[start:] {
		f := info.attrs[i]
		b = attrName(indent(b, depth), f.name, width-f.width)
		if b, err = w.attrValue(b, v.Field(f.index)); err != nil {
			return b, w.at(f.name, err)
		}
	}
	for i := range info.blocks {
		f := &info.blocks[i]
		if f.isSet(s) {
			fv := v.Field(f.index)
			w.where = append(w.where, f.name)
			if b, err = w.blocks(b, f, fv, depth); err != nil {
				return b, err
			}
			w.where = w.where[:len(w.where)-1]
		}
	}
	return append(indent(b, depth-1), "}\n"...), nil
}

// attrName writes an attribute's name and its =, after pad spaces so
// that the = of a body line up.
func attrName(b []byte, name string, pad int) []byte {
	b = append(b, name...)
	for range pad {
		b = append(b, ' ')
	}
	return append(b, " = "...)
}

// attrValue writes a field's value and the newline after it; text of
// whole lines is written as a heredoc.
func (w *hclWriter) attrValue(b []byte, v reflect.Value) ([]byte, error) {
	if s := reflect.Indirect(v); s.Kind() == reflect.String && heredocText(s.String()) {
		return appendHeredoc(b, s.String()), nil
	}
	b, err := w.value(b, v)
	return append(b, '\n'), err
}

// blocks writes a block field f: a struct, a list of structs, or a map,
// which becomes one block of attributes (meta, env, config).
func (w *hclWriter) blocks(b []byte, f *hclField, v reflect.Value, depth int) ([]byte, error) {
	if v.Kind() != reflect.Slice {
		return w.block(b, f, 0, v, depth)
	}
	start := len(b)
	made := w.groups.makes(v)
	for i := range v.Len() {
		var err error
		if made {
			if err := w.groups.make(v, i); err != nil {
				return b, err
			}
		}
		if b, err = w.block(b, f, i, v.Index(i), depth); err != nil {
			return b, err
		}
		if made {
			v.Index(i).SetZero() // written (a memo may keep it until spilled)
			w.forgetParts()
		}
		if depth > 1 {
			b = growFor(b, start, i+1, v.Len())
			continue
		}
		before := len(b)
		if b, err = spill(w.out, b, start, i+1, v.Len()); err != nil {
			return b, err
		}
		if len(b) < before {
			clear(w.memos) // the text they point at is written out
		}
	}
	return b, nil
}

// forgetParts forgets the text of the values in the parts the groups are
// made in: the next group is made in them, so a value at the same address
// there is not the same value. Making each group in new parts instead was
// half of what writing the job allocated.
func (w *hclWriter) forgetParts() {
	if w.parts == nil {
		return
	}
	start, end, meta := w.parts.memory()
	for k, m := range w.memos {
		if at := uintptr(m.at); at >= start && at < end || m.at == meta && meta != nil {
			w.memos[k] = memo{}
		}
	}
}

// block writes item i of block field f, or copies the text it was last
// written as when it is the value at the same address.
func (w *hclWriter) block(b []byte, f *hclField, i int, v reflect.Value, depth int) ([]byte, error) {
	var at unsafe.Pointer
	switch {
	case i >= memosPerField:
	case v.Kind() == reflect.Pointer || v.Kind() == reflect.Map:
		at = v.UnsafePointer()
	case v.Kind() == reflect.Struct && v.CanAddr():
		at = v.Addr().UnsafePointer()
	}
	if at == nil {
		return w.blockText(b, f.name, v, depth)
	}
	slot := f.memo + i
	if slot >= len(w.memos) {
		w.memos = append(w.memos, make([]memo, slot+1-len(w.memos))...)
	}
	if m := w.memos[slot]; m.at == at && m.depth == depth {
		return append(b, b[m.start:m.end]...), nil
	}
	start := len(b)
	b, err := w.blockText(b, f.name, v, depth)
	w.memos[slot] = memo{at: at, depth: depth, start: start, end: len(b)}
	return b, err
}

// blockText writes a block.
func (w *hclWriter) blockText(b []byte, name string, v reflect.Value, depth int) ([]byte, error) {
	switch v.Kind() {
	case reflect.Pointer:
		return w.blockText(b, name, v.Elem(), depth)
	case reflect.Map:
		return w.mapBody(append(indent(b, depth), name...), v, depth+1)
	case reflect.Struct:
		b = append(indent(b, depth), name...)
		for _, i := range infoOf(v.Type()).labels {
			b = appendHCLString(append(b, ' '), labelText(reflect.Indirect(v.Field(i))))
		}
		return w.body(b, v, depth+1)
	}
	return b, w.errorf("a %s has no HCL block form", v.Type())
}

// mapBody writes the entries of a map of strings as the body of a block,
// sorted by key.
func (w *hclWriter) mapBody(b []byte, v reflect.Value, depth int) ([]byte, error) {
	if v.Type().Key().Kind() != reflect.String || v.Type().Elem().Kind() == reflect.Pointer {
		return b, w.errorf("a map of %s has no HCL form here", v.Type().Elem())
	}
	start := len(w.keys)
	switch m := v.Interface().(type) {
	case map[string]string: // meta, env: no reflection
		w.keys = slices.AppendSeq(w.keys, maps.Keys(m))
	case map[string]any:
		w.keys = slices.AppendSeq(w.keys, maps.Keys(m))
	default:
		for it := v.MapRange(); it.Next(); {
			w.keys = append(w.keys, it.Key().String())
		}
	}
	keys := w.keys[start:]
	defer func() { w.keys = w.keys[:start] }()
	slices.Sort(keys)
	width := 0
	for _, k := range keys {
		if !validIdentifier(k) {
			return b, w.errorf("key %q is not an HCL identifier", k)
		}
		width = max(width, utf8.RuneCountInString(k))
	}
	b = append(b, " {\n"...)
	for _, k := range keys {
		b = attrName(indent(b, depth), k, width-utf8.RuneCountInString(k))
		var err error
		if b, err = w.entry(b, v, k); err != nil {
			return b, w.at(k, err)
		}
		b = append(b, '\n')
	}
	return append(indent(b, depth-1), "}\n"...), nil
}

// entry writes the value of map v at key k.
func (w *hclWriter) entry(b []byte, v reflect.Value, k string) ([]byte, error) {
	switch m := v.Interface().(type) {
	case map[string]string:
		return appendHCLString(b, m[k]), nil
	case map[string]any:
		return w.value(b, reflect.ValueOf(m[k]))
	}
	return w.value(b, v.MapIndex(reflect.ValueOf(k).Convert(v.Type().Key())))
}

// value writes an attribute's value as hclwrite.TokensForValue writes its
// cty value; durations are Go duration text ("30s"), as Nomad's job
// specifications write them.
func (w *hclWriter) value(b []byte, v reflect.Value) ([]byte, error) {
	if !v.IsValid() {
		return append(b, "null"...), nil
	}
	if v.Type() == durationType {
		return appendHCLString(b, w.duration(time.Duration(v.Int()))), nil
	}
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		return w.value(b, v.Elem())
	case reflect.String:
		return appendHCLString(b, v.String()), nil
	case reflect.Bool:
		return strconv.AppendBool(b, v.Bool()), nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return strconv.AppendInt(b, v.Int(), 10), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return strconv.AppendUint(b, v.Uint(), 10), nil
	case reflect.Float32, reflect.Float64:
		// as cty writes a float64: a float32 too, as the float64 it is
		return strconv.AppendFloat(b, v.Float(), 'f', -1, 64), nil
	case reflect.Slice:
		return w.list(b, v)
	}
	return b, fmt.Errorf("a %s has no HCL attribute form", v.Type())
}

// list writes a list value: [a, b].
func (w *hclWriter) list(b []byte, v reflect.Value) ([]byte, error) {
	b = append(b, '[')
	for i := range v.Len() {
		if i > 0 {
			b = append(b, ", "...)
		}
		var err error
		if b, err = w.value(b, v.Index(i)); err != nil {
			return b, err
		}
	}
	return append(b, ']'), nil
}

// duration is d's text.
func (w *hclWriter) duration(d time.Duration) string {
	s, ok := w.durations[d]
	if !ok {
		if w.durations == nil {
			w.durations = map[time.Duration]string{}
		}
		s = durationText(d)
		w.durations[d] = s
	}
	return s
}

// labelText is the text of a label field: a string, or what fmt makes of
// another value.
func labelText(v reflect.Value) string {
	if v.Kind() == reflect.String {
		return v.String()
	}
	return fmt.Sprint(v.Interface())
}
