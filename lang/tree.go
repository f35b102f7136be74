package lang

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode"
)

// WriteTree writes the file's syntax tree for people to read, one node per
// line, indented two spaces per level: its kind, its text (names, literals
// as written, references and types inline) and the line:col of its start.
//
//	function split  29:1
//	  input sentences  29:16
//	  output words  29:30
//	  attr use  30:3
//	    ref builtin.split_words  30:9
//
// A declaration's body attributes sit directly under it; an attribute's
// value under the attribute. Comments follow the declarations, in source
// order. Text that would break the line (a raw string, a block comment) is
// shown quoted, so each node keeps to one line.
func (f *File) WriteTree(w io.Writer) error {
	var t tree
	for _, d := range f.Decls {
		t.decl(d)
	}
	for _, c := range f.Comments {
		t.line(0, c.Start(), "comment", oneLine(c.Text))
	}
	_, err := io.WriteString(w, t.b.String())
	return err
}

type tree struct{ b strings.Builder }

// line writes one node.
func (t *tree) line(depth int, pos Pos, kind, text string) {
	t.b.WriteString(strings.Repeat("  ", depth))
	t.b.WriteString(kind)
	if text != "" {
		t.b.WriteString(" " + text)
	}
	fmt.Fprintf(&t.b, "  %d:%d\n", pos.Line(), pos.Column())
}

func (t *tree) decl(d Decl) {
	switch d := d.(type) {
	case *Mesh:
		t.head(d, d.Name)
		t.body(1, d.Body)
	case *Param:
		t.head(d, d.Name)
		t.typ(1, "", d.Type)
		t.value(1, "default", d.Default)
	case *TypeDecl:
		t.head(d, d.Name)
		t.typ(1, "", d.Type)
	case *Topic:
		t.head(d, d.Name)
		t.typ(1, "schema", d.Schema)
		t.idents(1, "flag", d.Flags...)
		t.body(1, d.Body)
	case *Function:
		t.head(d, d.Name)
		t.idents(1, "input", d.Inputs...)
		t.idents(1, "output", d.Output)
		t.body(1, d.Body)
	case *Source:
		t.head(d, d.Name)
		t.idents(1, "output", d.Output)
		t.body(1, d.Body)
	case *Sink:
		t.head(d, d.Name)
		t.idents(1, "input", d.Inputs...)
		t.body(1, d.Body)
	case *Test:
		t.head(d, d.Name)
		t.body(1, d.Body)
	}
}

// head writes a declaration's own line: its keyword and name.
func (t *tree) head(d Decl, id *Ident) {
	t.line(0, d.Start(), d.Keyword(), name(id))
}

func (t *tree) idents(depth int, kind string, ids ...*Ident) {
	for _, id := range ids {
		if id != nil {
			t.line(depth, id.Start(), kind, id.Name)
		}
	}
}

// body lists an object's attributes, one level below its owner.
func (t *tree) body(depth int, o *Object) {
	if o == nil {
		return
	}
	for _, a := range o.Attrs {
		t.line(depth, a.Start(), "attr", name(a.Key()))
		t.value(depth+1, "", a.Value())
	}
}

// typ writes a named type on one line, inline, and a record as a record
// line over its fields. role, if set, says what the type is to its owner,
// as in "schema type string".
func (t *tree) typ(depth int, role string, ty *Type) {
	switch {
	case ty == nil:
	case ty.Record == nil:
		t.line(depth, ty.Start(), withRole(role, "type"), typeText(ty))
	default:
		t.line(depth, ty.Start(), withRole(role, "record"+optional(ty)), "")
		for _, f := range ty.Record.Fields {
			t.line(depth+1, f.Start(), "field", name(f.Name))
			t.typ(depth+2, "", f.Type)
		}
	}
}

// value writes a value as its kind (string, int, ..., ref, list, object)
// and text; role as for typ, as in "default int 2".
func (t *tree) value(depth int, role string, v *Value) {
	switch {
	case v == nil:
	case v.List() != nil:
		t.line(depth, v.Start(), withRole(role, "list"), "")
		for _, item := range v.List().Items {
			t.value(depth+1, "", item)
		}
	case v.Object() != nil:
		t.line(depth, v.Start(), withRole(role, "object"), "")
		t.body(depth+1, v.Object())
	default:
		kind, text := leaf(v)
		t.line(depth, v.Start(), withRole(role, kind), text)
	}
}

func withRole(role, kind string) string {
	if role == "" {
		return kind
	}
	return role + " " + kind
}

// leaf returns the kind and text of a value that is neither list nor object.
func leaf(v *Value) (kind, text string) {
	switch {
	case v.Ref() != nil:
		return "ref", refText(v.Ref())
	case v.Lit() == StringLit:
		return "string", stringText(v.Text())
	case v.Lit() != NoLit:
		return v.Lit().String(), v.Text()
	}
	return "value", "" // only in a tree cut short by a syntax error
}

func name(id *Ident) string {
	if id == nil {
		return ""
	}
	return id.Name
}

func optional(t *Type) string {
	if t.Optional {
		return "?"
	}
	return ""
}

// typeText writes a type inline, as written but spaced canonically.
func typeText(t *Type) string {
	if t.Record == nil {
		return refText(t.Name) + optional(t)
	}
	fields := make([]string, len(t.Record.Fields))
	for i, f := range t.Record.Fields {
		fields[i] = name(f.Name) + " " + typeText(f.Type)
	}
	return braced(fields) + optional(t)
}

// refText writes a reference inline: dotted name, type and call arguments.
func refText(r *Ref) string {
	if r == nil {
		return ""
	}
	parts := make([]string, len(r.Parts))
	for i, p := range r.Parts {
		parts[i] = name(p)
	}
	s := strings.Join(parts, ".")
	if len(r.TypeArgs()) > 0 {
		args := make([]string, len(r.TypeArgs()))
		for i, ta := range r.TypeArgs() {
			args[i] = typeText(ta)
		}
		s += "<" + strings.Join(args, ", ") + ">"
	}
	if r.Args() != nil {
		s += "(" + strings.Join(valueTexts(r.Args().Values), ", ") + ")"
	}
	return s
}

// valueText writes a value inline, for call arguments.
func valueText(v *Value) string {
	switch {
	case v.List() != nil:
		return "[" + strings.Join(valueTexts(v.List().Items), ", ") + "]"
	case v.Object() != nil:
		attrs := make([]string, len(v.Object().Attrs))
		for i, a := range v.Object().Attrs {
			attrs[i] = name(a.Key()) + " = " + valueText(a.Value())
		}
		return braced(attrs)
	}
	_, text := leaf(v)
	return text
}

func valueTexts(vs []*Value) []string {
	texts := make([]string, len(vs))
	for i, v := range vs {
		texts[i] = valueText(v)
	}
	return texts
}

func braced(items []string) string {
	if len(items) == 0 {
		return "{}"
	}
	return "{ " + strings.Join(items, ", ") + " }"
}

// stringText keeps a string literal as written when it fits on one line;
// otherwise it shows the string's value double-quoted, escapes and all.
func stringText(lit string) string {
	if printable(lit) {
		return lit
	}
	if s, err := Unquote(lit); err == nil {
		return strconv.Quote(s)
	}
	return strconv.Quote(lit)
}

// oneLine keeps a comment as written when it fits on one line, else
// quotes it.
func oneLine(text string) string {
	if printable(text) {
		return text
	}
	return strconv.Quote(text)
}

func printable(s string) bool {
	return !strings.ContainsFunc(s, func(r rune) bool { return !unicode.IsPrint(r) })
}
