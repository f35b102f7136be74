package compiler

import (
	"fmt"
	"strings"

	"github.com/meshc/meshc/lang"
)

// TypeKind is the kind of a field type.
type TypeKind string

const (
	String    TypeKind = "string"
	Int64     TypeKind = "int64"
	Int32     TypeKind = "int32"
	Float64   TypeKind = "float64"
	Float32   TypeKind = "float32"
	Bool      TypeKind = "bool"
	Bytes     TypeKind = "bytes"
	Timestamp TypeKind = "timestamp"
	List      TypeKind = "list"
	Map       TypeKind = "map"
	Record    TypeKind = "record"
)

var scalarKinds = []TypeKind{String, Int64, Int32, Float64, Float32, Bool, Bytes, Timestamp}

// Type is a field type or a record. Named types are shared pointers, so a
// type may refer to itself through an optional field, a list or a map.
type Type struct {
	Kind   TypeKind
	Name   string   // the declared name, for named types
	Elem   *Type    // element of a list or map (maps have string keys)
	Fields []*Field // fields of a record, in declaration order
	Span   lang.Span
}

// Field is one field of a record.
type Field struct {
	Name     string
	Type     *Type
	Optional bool
	Span     lang.Span
}

// Field returns the record's field called name, or nil.
func (t *Type) Field(name string) *Field {
	for _, f := range t.Fields {
		if f.Name == name {
			return f
		}
	}
	return nil
}

func (t *Type) String() string {
	switch {
	case t.Name != "":
		return t.Name
	case t.Kind == List || t.Kind == Map:
		return fmt.Sprintf("%s<%s>", t.Kind, t.Elem)
	case t.Kind == Record:
		parts := make([]string, len(t.Fields))
		for i, f := range t.Fields {
			parts[i] = f.Name + " " + f.Type.String()
			if f.Optional {
				parts[i] += "?"
			}
		}
		return "{" + strings.Join(parts, ", ") + "}"
	}
	return string(t.Kind)
}

// SchemaKind is the kind of a topic schema.
type SchemaKind string

const (
	SchemaBytes    SchemaKind = "bytes"
	SchemaString   SchemaKind = "string"
	SchemaInt64    SchemaKind = "int64"
	SchemaFloat64  SchemaKind = "float64"
	SchemaBool     SchemaKind = "bool"
	SchemaJSON     SchemaKind = "json"
	SchemaAvro     SchemaKind = "avro"
	SchemaProtobuf SchemaKind = "protobuf"
)

var schemaKinds = []string{"bytes", "string", "int64", "float64", "bool", "json", "avro", "protobuf"}

// Schema is the schema of a topic's messages, or what an implementation
// reads or writes.
type Schema struct {
	Kind SchemaKind
	// Record is the record type of json<T>; nil in a built-in signature
	// means any JSON.
	Record *Type
	// File and Message locate avro and protobuf schemas, relative to the
	// mesh file.
	File    string
	Message string
	// Record, for avro and protobuf, is read from the file at compile
	// time, with Definition (avro: the schema in JSON) or Descriptor
	// (protobuf: a FileDescriptorSet of the file and its imports).
	Definition string
	Descriptor []byte
	Span       lang.Span
}

func (s *Schema) String() string {
	switch s.Kind {
	case SchemaJSON:
		if s.Record == nil {
			return "json"
		}
		return "json<" + s.Record.String() + ">"
	case SchemaAvro:
		return fmt.Sprintf("avro(%q)", s.File)
	case SchemaProtobuf:
		return fmt.Sprintf("protobuf(%q, %q)", s.File, s.Message)
	}
	return string(s.Kind)
}

// Accepts reports whether a reader expecting s can read messages written
// with w. It returns nil when it can, and otherwise the first reason, such
// as `field "count": want int64, found string`. The rule (SPEC.md, Checks):
// kinds must be equal; json records are compatible when every field the
// reader requires is present and required in the writer with a compatible
// type, fields the reader marks optional may be missing or optional in the
// writer, and fields only the writer has are ignored. Scalars never widen.
//
// avro and protobuf records are checked field by field as json records
// are, with the fields read from their files; a built-in that reads or
// writes any JSON (project, parse_json) reads and writes any record.
func (s *Schema) Accepts(w *Schema) error {
	if s.anyRecord() && w.isRecord() || w.anyRecord() && s.isRecord() {
		return nil
	}
	if s.Kind != w.Kind {
		return fmt.Errorf("want %s, found %s", s, w)
	}
	switch s.Kind {
	case SchemaJSON, SchemaAvro, SchemaProtobuf:
		if s.Record == nil || w.Record == nil {
			if s.Kind != SchemaJSON && (s.File != w.File || s.Message != w.Message) {
				return fmt.Errorf("want %s, found %s", s, w)
			}
			return nil
		}
		return acceptsType(s.Record, w.Record, "", map[[2]*Type]bool{})
	}
	return nil
}

// anyRecord reports the schema of a built-in that takes any JSON.
func (s *Schema) anyRecord() bool { return s.Kind == SchemaJSON && s.Record == nil }

func (s *Schema) isRecord() bool {
	return s.Kind == SchemaJSON || s.Kind == SchemaAvro || s.Kind == SchemaProtobuf
}

// Equal reports whether s and o describe the same messages.
func (s *Schema) Equal(o *Schema) bool {
	return s.Accepts(o) == nil && o.Accepts(s) == nil
}

// acceptsType checks that values of type w fit where r is expected. seen
// stops the walk on recursive types: a pair under comparison is assumed
// compatible.
func acceptsType(r, w *Type, path string, seen map[[2]*Type]bool) error {
	if r == w || seen[[2]*Type{r, w}] {
		return nil
	}
	seen[[2]*Type{r, w}] = true
	if r.Kind != w.Kind {
		if path == "" {
			return fmt.Errorf("want %s, found %s", r, w)
		}
		return fmt.Errorf("field %q: want %s, found %s", path, r, w)
	}
	switch r.Kind {
	case List, Map:
		return acceptsType(r.Elem, w.Elem, path+"[]", seen)
	case Record:
		for _, rf := range r.Fields {
			name := join(path, rf.Name)
			wf := w.Field(rf.Name)
			switch {
			case wf == nil && rf.Optional:
				continue
			case wf == nil:
				return fmt.Errorf("missing required field %q (%s)", name, rf.Type)
			case wf.Optional && !rf.Optional:
				return fmt.Errorf("field %q is optional in %s but required here", name, w)
			}
			if err := acceptsType(rf.Type, wf.Type, name, seen); err != nil {
				return err
			}
		}
	}
	return nil
}

func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

// typeResolver turns type expressions into Types, declared names included.
type typeResolver struct {
	c     *compiler
	named map[string]*Type
	decls map[string]*lang.TypeDecl
	busy  map[string]bool // named types being resolved, to catch T = T
	files map[string]*schemaFile
}

// declared resolves a type declaration once; later calls share the result,
// which lets records refer to themselves.
func (r *typeResolver) declared(name string) *Type {
	if t, ok := r.named[name]; ok {
		return t
	}
	d := r.decls[name]
	if d.Type.Record != nil {
		t := &Type{Kind: Record, Name: name, Span: d.Type.Span}
		r.named[name] = t // before the fields, so they may refer back
		t.Fields = r.fields(d.Type.Record).Fields
		return t
	}
	if r.busy[name] {
		r.c.errorf(d.Name.Span, "type %s is defined as itself", name).WithHint("define it as a record { ... } or another type")
		return nil
	}
	r.busy[name] = true
	inner := r.typ(d.Type)
	delete(r.busy, name)
	if inner == nil {
		r.named[name] = nil
		return nil
	}
	t := *inner
	t.Name = name
	r.named[name] = &t
	return &t
}

func (r *typeResolver) fields(rec *lang.Record) *Type {
	t := &Type{Kind: Record, Span: rec.Span}
	seen := map[string]*lang.Field{}
	for _, f := range rec.Fields {
		if first, dup := seen[f.Name.Name]; dup {
			r.c.duplicate(f.Name, first.Name.Span, "field")
			continue
		}
		seen[f.Name.Name] = f
		ft := r.typ(f.Type)
		if ft == nil {
			continue
		}
		t.Fields = append(t.Fields, &Field{Name: f.Name.Name, Type: ft, Optional: f.Type.Optional, Span: f.Span})
	}
	return t
}

// typ resolves a field type. It reports problems and returns nil for a
// type it cannot resolve. A ? is checked by the caller's context: only
// fields take it, and fields read it from the syntax.
func (r *typeResolver) typ(t *lang.Type) *Type {
	if t.Record != nil {
		return r.fields(t.Record)
	}
	ref := t.Name
	name := refName(ref)
	if ref.Args() != nil {
		r.c.errorf(ref.Args().Span, "type %s takes no arguments", name)
		return nil
	}
	switch name {
	case "list", "map":
		if len(ref.TypeArgs()) != 1 {
			r.c.errorf(ref.Span, "%s takes one element type, as in %s<string>", name, name)
			return nil
		}
		elem := r.typ(ref.TypeArgs()[0])
		if elem == nil {
			return nil
		}
		if ref.TypeArgs()[0].Optional {
			r.c.errorf(ref.TypeArgs()[0].Span, "an element type cannot be optional").WithHint("remove the ?")
		}
		return &Type{Kind: TypeKind(name), Elem: elem, Span: t.Span}
	}
	if len(ref.TypeArgs()) > 0 {
		r.c.errorf(ref.Span, "type %s takes no type arguments", name)
		return nil
	}
	for _, k := range scalarKinds {
		if name == string(k) {
			return &Type{Kind: k, Span: t.Span}
		}
	}
	if _, ok := r.decls[name]; ok {
		return r.declared(name)
	}
	d := r.c.errorf(ref.Span, "unknown type %s", name)
	r.c.suggest(d, name, r.typeNames())
	return nil
}

func (r *typeResolver) typeNames() []string {
	names := []string{"list", "map"}
	for _, k := range scalarKinds {
		names = append(names, string(k))
	}
	for n := range r.decls {
		names = append(names, n)
	}
	return names
}

// schema resolves a topic schema, or the value of accepts or returns.
func (r *typeResolver) schema(t *lang.Type) *Schema {
	if t.Record != nil {
		r.c.errorf(t.Span, "a schema cannot be a bare record").WithHint("declare the record with type NAME { ... } and write json<NAME>")
		return nil
	}
	if t.Optional {
		r.c.errorf(t.Span, "a schema cannot be optional").WithHint("only record fields take ?")
	}
	ref := t.Name
	name := refName(ref)
	s := r.c.schemas.one()
	*s = Schema{Kind: SchemaKind(name), Span: t.Span}
	switch name {
	case "bytes", "string", "int64", "float64", "bool":
		if len(ref.TypeArgs()) > 0 || ref.Args() != nil {
			r.c.errorf(ref.Span, "schema %s takes no arguments", name)
		}
		return s
	case "json":
		if len(ref.TypeArgs()) != 1 || ref.Args() != nil {
			r.c.errorf(ref.Span, "json takes one record type, as in json<Order>")
			return nil
		}
		rec := r.typ(ref.TypeArgs()[0])
		if rec == nil {
			return nil
		}
		if rec.Kind != Record {
			r.c.errorf(ref.TypeArgs()[0].Span, "json<%s>: json takes a record type, found %s", rec, rec.Kind).WithHint("declare a record: type NAME { field TYPE ... }")
			return nil
		}
		s.Record = rec
		return s
	case "avro", "protobuf":
		want := map[string]int{"avro": 1, "protobuf": 2}[name]
		args := r.c.stringArgs(ref, want)
		if args == nil {
			r.c.errorf(ref.Span, "%s takes %s", name, map[string]string{"avro": `a schema file: avro("order.avsc")`, "protobuf": `a file and a message: protobuf("events.proto", "acme.Event")`}[name])
			return nil
		}
		s.File = args[0]
		if name == "protobuf" {
			s.Message = args[1]
		}
		r.loadSchemaFile(s)
		return s
	}
	if _, ok := r.decls[name]; ok {
		r.c.errorf(ref.Span, "%s is a type, not a schema", name).WithHint("write json<%s>", name)
		return nil
	}
	d := r.c.errorf(ref.Span, "unknown schema %s", name)
	r.c.suggest(d, name, schemaKinds)
	return nil
}

func refName(ref *lang.Ref) string {
	parts := make([]string, len(ref.Parts))
	for i, p := range ref.Parts {
		parts[i] = p.Name
	}
	return strings.Join(parts, ".")
}
