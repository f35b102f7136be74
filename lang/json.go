package lang

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// MarshalJSON writes the file for tools with one key style throughout, lower
// camelCase: fields under their json tags, each node's Span as "pos" and
// "end" ({"filename", "offset", "line", "column"}), and each declaration
// tagged by its keyword, {"kind": "topic", ...}, so tools can tell
// declarations apart. Keys keep the order of the Go fields.
//
// The encoding is done here, by reflection, rather than by tags: Span is
// embedded in every node but Attr, its positions keep their line and
// column in their file's line table, and a MarshalJSON on Span would be
// promoted to every node, which would then encode as its span alone.
func (f *File) MarshalJSON() ([]byte, error) {
	return appendJSON(nil, reflect.ValueOf(f).Elem())
}

var (
	spanType  = reflect.TypeFor[Span]()
	attrType  = reflect.TypeFor[Attr]()
	posType   = reflect.TypeFor[Pos]()
	valueType = reflect.TypeFor[Value]()
	refType   = reflect.TypeFor[Ref]()
)

// jsonPos is Pos with lower camelCase keys.
type jsonPos struct {
	Filename string `json:"filename"`
	Offset   int    `json:"offset"`
	Line     int    `json:"line"`
	Column   int    `json:"column"`
}

// appendJSON appends v, a node or one of its fields, as JSON.
func appendJSON(b []byte, v reflect.Value) ([]byte, error) {
	switch {
	case (v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface || v.Kind() == reflect.Slice) && v.IsNil():
		return append(b, "null"...), nil
	case v.Kind() == reflect.Interface:
		return appendJSON(b, v.Elem())
	case v.Kind() == reflect.Pointer && v.Elem().Kind() == reflect.Struct:
		kind := ""
		if d, ok := v.Interface().(Decl); ok {
			kind = d.Keyword()
		}
		return appendObject(b, v.Elem(), kind)
	case v.Kind() == reflect.Slice:
		return appendArray(b, v)
	case v.Type() == posType:
		p := v.Interface().(Pos)
		return appendMarshal(b, jsonPos{p.Filename(), p.Offset(), p.Line(), p.Column()})
	case v.Kind() == reflect.Struct:
		return appendObject(b, v, "")
	}
	return appendMarshal(b, v.Interface()) // strings, *string, bool: leaves
}

func appendMarshal(b []byte, v any) ([]byte, error) {
	raw, err := json.Marshal(v)
	return append(b, raw...), err
}

func appendArray(b []byte, v reflect.Value) ([]byte, error) {
	b = append(b, '[')
	for i := range v.Len() {
		if i > 0 {
			b = append(b, ',')
		}
		var err error
		if b, err = appendJSON(b, v.Index(i)); err != nil {
			return nil, err
		}
	}
	return append(b, ']'), nil
}

// member is one key and value of a JSON object.
type member struct {
	key string
	val reflect.Value
}

func appendObject(b []byte, v reflect.Value, kind string) ([]byte, error) {
	var ms []member
	if kind != "" {
		ms = append(ms, member{"kind", reflect.ValueOf(kind)})
	}
	if v.Type() == attrType {
		// An attribute's span is no field of it, but made of its key's and
		// its value's; it comes first all the same, as other nodes' spans.
		a := v.Interface().(Attr)
		s := a.Span()
		ms = append(ms, member{"pos", reflect.ValueOf(s.Start())}, member{"end", reflect.ValueOf(s.End())},
			member{"key", reflect.ValueOf(&a.key)}, member{"value", reflect.ValueOf(&a.value)})
	}
	ms = append(ms, members(v)...)
	if v.Type() == refType {
		// A reference's arguments are no fields of it, but kept apart.
		r := v.Interface().(Ref)
		if ta := r.TypeArgs(); len(ta) > 0 {
			ms = append(ms, member{"typeArgs", reflect.ValueOf(ta)})
		}
		if a := r.Args(); a != nil {
			ms = append(ms, member{"args", reflect.ValueOf(a)})
		}
	}
	if v.Type() == valueType {
		// A value's part is no field of it (see Value): a list, an object
		// or a reference under its kind's name, or a literal's text under
		// its kind's, after the fields.
		val := v.Interface().(Value)
		switch n := val.node.(type) {
		case *List:
			ms = append(ms, member{"list", reflect.ValueOf(n)})
		case *Object:
			ms = append(ms, member{"object", reflect.ValueOf(n)})
		case *Ref:
			ms = append(ms, member{"ref", reflect.ValueOf(n)})
		}
		if val.Lit() != NoLit {
			ms = append(ms, member{val.Lit().String(), reflect.ValueOf(val.Text())})
		}
	}
	b = append(b, '{')
	for i, m := range ms {
		if i > 0 {
			b = append(b, ',')
		}
		b, _ = appendMarshal(b, m.key)
		b = append(b, ':')
		var err error
		if b, err = appendJSON(b, m.val); err != nil {
			return nil, err
		}
	}
	return append(b, '}'), nil
}

// members lists a struct's fields as encoding/json would, json tags and
// omitempty included, except that Span becomes "pos" and "end" and a field
// without a tag is named in lower camelCase (Comment.Text is "text").
func members(v reflect.Value) []member {
	var ms []member
	for i := range v.NumField() {
		f, sf := v.Field(i), v.Type().Field(i)
		if sf.Type == spanType {
			s := f.Interface().(Span)
			ms = append(ms, member{"pos", reflect.ValueOf(s.Start())}, member{"end", reflect.ValueOf(s.End())})
			continue
		}
		name, opts, _ := strings.Cut(sf.Tag.Get("json"), ",")
		if !sf.IsExported() || name == "-" || slices.Contains(strings.Split(opts, ","), "omitempty") && isEmpty(f) {
			continue
		}
		if name == "" {
			name = lowerFirst(sf.Name)
		}
		ms = append(ms, member{name, f})
	}
	return ms
}

// isEmpty is encoding/json's test for omitempty, for the kinds nodes use.
func isEmpty(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Slice, reflect.String, reflect.Map:
		return v.Len() == 0
	case reflect.Bool:
		return !v.Bool()
	case reflect.Pointer, reflect.Interface:
		return v.IsNil()
	}
	return v.IsZero()
}

func lowerFirst(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	return string(unicode.ToLower(r)) + s[n:]
}
