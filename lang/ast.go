package lang

import "fmt"

// The AST. Declarations are parsed by participle from their struct tags
// (a topic's, a function's and a sink's from those of their syntax
// structs, in parser.go); bodies, values, types, and the heads of topics,
// functions and sinks (name, schema and flags, inputs and output) by the
// hand-written productions in exprs.go.
// SPEC.md has the EBNF of both. Every node but Attr embeds Span, with exact
// positions; an Attr's span is made of its key's and its value's.

// File is one parsed .mesh file.
type File struct {
	Name     string    `json:"name"`
	Decls    []Decl    `json:"decls"`
	Comments []Comment `json:"comments,omitempty"`
}

// Decl is a top-level declaration: *Mesh, *Param, *TypeDecl, *Topic,
// *Function, *Source or *Sink.
type Decl interface {
	Start() Pos
	End() Pos
	// Keyword is the word that opens the declaration.
	Keyword() string
}

// Ident is a name as written, with its position.
type Ident struct {
	Span
	Name string `parser:"@Ident" json:"name"`
}

// Mesh names the mesh and holds its settings: tenant, namespace, defaults.
type Mesh struct {
	Span
	Name *Ident  `parser:"'mesh' @@" json:"name"`
	Body *Object `parser:"@@" json:"body"`
}

// Param is a typed parameter, set per environment with -p or a file.
type Param struct {
	Span
	Name    *Ident `parser:"'param' @@" json:"name"`
	Type    *Type  `parser:"@@" json:"type"`
	Default *Value `parser:"( '=' @@ )?" json:"default,omitempty"`
}

// TypeDecl names a type, usually a record.
type TypeDecl struct {
	Span
	Name *Ident `parser:"'type' @@" json:"name"`
	Type *Type  `parser:"@@" json:"type"`
}

// Topic declares a topic, its schema, flags such as external, and options.
// Participle reads it as a topicSyntax.
type Topic struct {
	Span
	Name   *Ident   `json:"name"`
	Schema *Type    `json:"schema"`
	Flags  []*Ident `json:"flags,omitempty"`
	Body   *Object  `json:"body,omitempty"`
}

// Function reads its inputs, writes its output and is configured by its body.
// Participle reads it as a functionSyntax.
type Function struct {
	Span
	Name   *Ident   `json:"name"`
	Inputs []*Ident `json:"inputs"`
	Output *Ident   `json:"output,omitempty"`
	Body   *Object  `json:"body,omitempty"`
}

// Source is a connector that writes into a topic of the mesh.
type Source struct {
	Span
	Name   *Ident  `parser:"'source' @@" json:"name"`
	Output *Ident  `parser:"'->' @@" json:"output"`
	Body   *Object `parser:"@@?" json:"body,omitempty"`
}

// Sink is a connector that reads topics of the mesh. Participle reads it
// as a sinkSyntax.
type Sink struct {
	Span
	Name   *Ident   `json:"name"`
	Inputs []*Ident `json:"inputs"`
	Body   *Object  `json:"body,omitempty"`
}

func (*Mesh) Keyword() string     { return "mesh" }
func (*Param) Keyword() string    { return "param" }
func (*TypeDecl) Keyword() string { return "type" }
func (*Topic) Keyword() string    { return "topic" }
func (*Function) Keyword() string { return "function" }
func (*Source) Keyword() string   { return "source" }
func (*Sink) Keyword() string     { return "sink" }

// Type is a type expression: a record, or a possibly dotted name with type
// arguments (json<Count>, list<string>) or value arguments
// (avro("order.avsc")), optionally marked optional with ?.
type Type struct {
	Span
	Record   *Record `json:"record,omitempty"`
	Name     *Ref    `json:"name,omitempty"`
	Optional bool    `json:"optional,omitempty"`
}

// Record is a list of named, typed fields.
type Record struct {
	Span
	Fields []*Field `json:"fields"`
}

// Field is one field of a record.
type Field struct {
	Span
	Name *Ident `json:"name"`
	Type *Type  `json:"type"`
}

// Object is a brace-delimited list of attributes: a declaration's body or
// an object value.
type Object struct {
	Span
	Attrs []*Attr `json:"attrs"`
}

// Attr is key = value, or key { ... } for an object value. Unlike other
// nodes it keeps no span of its own: it spans from its key to the end of
// its value (Span), and attributes are a good part of a tree. For the
// same reason it holds its key and its value in place, 64 bytes in all.
type Attr struct {
	key   Ident
	value Value
}

// NewAttr returns an attribute of the given key and value, copies of them.
func NewAttr(key *Ident, value *Value) *Attr {
	return &Attr{key: *key, value: *value}
}

// Key is the attribute's key.
func (a *Attr) Key() *Ident { return &a.key }

// Value is the attribute's value.
func (a *Attr) Value() *Value { return &a.value }

// Span is where the attribute is written, from its key to the end of its
// value.
func (a *Attr) Span() Span {
	s := a.key.Span
	s.end = a.value.end
	return s
}

// Start returns the position of the attribute's key.
func (a *Attr) Start() Pos { return a.Span().Start() }

// End returns the position just past the attribute's value.
func (a *Attr) End() Pos { return a.Span().End() }

// Value is a literal, a list, an object, or a reference such as
// builtin.split_words, param.replicas, go("Split") or json<Count>.
// After parsing exactly one of List, Object and Ref is non-nil, or Lit
// says which kind of literal the value is. Literals keep their source
// text, Text (quotes included for strings); true and false are read as
// BoolLit, not Ref. In JSON the part is under its kind's name, "list",
// "object" or "ref", and a literal is its text under its kind's name:
// {"int": "3"}.
type Value struct {
	Span
	// node is the value's one part: *List, *Object, *Ref, or *literal,
	// which literals written alike share. One field for the four makes a
	// value 32 bytes instead of 64, and a tree holds many.
	node any
}

// literal is the kind and text of a literal value.
type literal struct {
	kind LitKind
	text string
}

// Lit is the kind of literal the value is; NoLit for lists, objects
// and references.
func (v *Value) Lit() LitKind {
	if l, ok := v.node.(*literal); ok {
		return l.kind
	}
	return NoLit
}

// LitKind is the kind of a literal value.
type LitKind uint8

const (
	NoLit LitKind = iota // a list, an object or a reference
	StringLit
	IntLit
	FloatLit
	DurationLit
	SizeLit
	BoolLit
)

// litKeys name the kinds of literals in JSON.
var litKeys = [...]string{NoLit: "", StringLit: "string", IntLit: "int", FloatLit: "float",
	DurationLit: "duration", SizeLit: "size", BoolLit: "bool"}

// String names the kind as JSON does: "string", "int", ...
func (k LitKind) String() string {
	if int(k) < len(litKeys) {
		return litKeys[k]
	}
	return fmt.Sprintf("LitKind(%d)", k)
}

// LiteralText is a literal as a -p NAME=VALUE flag would give it: a
// string unquoted, other literals as written; false for lists, objects
// and references.
func (v *Value) LiteralText() (string, bool) {
	switch v.Lit() {
	case NoLit:
		return "", false
	case StringLit:
		s, err := Unquote(v.Text())
		return s, err == nil
	}
	return v.Text(), true
}

// List is [v, v, ...].
type List struct {
	Span
	Items []*Value `json:"items"`
}

// Ref is a dotted name with optional type arguments or call arguments.
// Most references have neither: both are kept apart, behind one pointer,
// which makes a reference 48 bytes instead of 72. In JSON they are its
// "typeArgs" and "args", after its "parts", when it has them.
type Ref struct {
	Span
	Parts []*Ident `json:"parts"`
	more  *refArgs // nil: neither type nor call arguments
}

// refArgs are the arguments of a reference that has some.
type refArgs struct {
	typeArgs []*Type
	args     *Args
}

// TypeArgs are the type arguments, as in json<Count>; nil if there are none.
func (r *Ref) TypeArgs() []*Type {
	if r.more == nil {
		return nil
	}
	return r.more.typeArgs
}

// Args are the call arguments, as in go("Split"); nil if there is no call.
func (r *Ref) Args() *Args {
	if r.more == nil {
		return nil
	}
	return r.more.args
}

// Args are the arguments of a call such as go("Split") or secret("db", "pw").
type Args struct {
	Span
	Values []*Value `json:"values"`
}

// List is the list the value is, or nil.
func (v *Value) List() *List {
	l, _ := v.node.(*List)
	return l
}

// Object is the object the value is, or nil.
func (v *Value) Object() *Object {
	o, _ := v.node.(*Object)
	return o
}

// Ref is the reference the value is, or nil.
func (v *Value) Ref() *Ref {
	r, _ := v.node.(*Ref)
	return r
}

// Text is a literal's text as written, quotes included for strings; ""
// for lists, objects and references.
func (v *Value) Text() string {
	if l, ok := v.node.(*literal); ok {
		return l.text
	}
	return ""
}
