package format

import "github.com/meshc/meshc/lang"

func (p *printer) decl(d lang.Decl) {
	switch d := d.(type) {
	case *lang.Mesh:
		p.keyword("mesh", d.Name)
		p.optBody(d.Body)
	case *lang.Param:
		p.keyword("param", d.Name)
		p.write(" ")
		p.typ(d.Type)
		if d.Default != nil {
			p.write(" = ")
			p.value(d.Default, 0)
		}
	case *lang.TypeDecl:
		p.keyword("type", d.Name)
		p.write(" ")
		p.typ(d.Type)
	case *lang.Topic:
		p.keyword("topic", d.Name)
		p.write(" ")
		p.typ(d.Schema)
		for _, flag := range d.Flags {
			p.write(" ")
			p.ident(flag)
		}
		p.optBody(d.Body)
	case *lang.Function:
		p.keyword("function", d.Name)
		p.inputs(d.Inputs)
		if d.Output != nil {
			p.write(" -> ")
			p.ident(d.Output)
		}
		p.optBody(d.Body)
	case *lang.Source:
		p.keyword("source", d.Name)
		p.write(" -> ")
		p.ident(d.Output)
		p.optBody(d.Body)
	case *lang.Sink:
		p.keyword("sink", d.Name)
		p.inputs(d.Inputs)
		p.optBody(d.Body)
	case *lang.Test:
		p.keyword("test", d.Name)
		p.optBody(d.Body)
	}
}

func (p *printer) keyword(kw string, name *lang.Ident) {
	p.write(kw + " ")
	p.ident(name)
}

func (p *printer) ident(id *lang.Ident) {
	p.hoist(id.End().Offset())
	p.write(id.Name)
}

func (p *printer) inputs(ids []*lang.Ident) {
	p.write("(")
	for i, id := range ids {
		if i > 0 {
			p.write(", ")
		}
		p.ident(id)
	}
	p.write(")")
}

func (p *printer) optBody(o *lang.Object) {
	if o != nil {
		p.write(" ")
		p.body(o)
	}
}

// body prints a declaration's body or an object value in block form.
func (p *printer) body(o *lang.Object) {
	first := o.End().Offset() - 1
	if len(o.Attrs) > 0 {
		first = o.Attrs[0].Start().Offset()
	}
	p.block(o.Span, first, "{", "}", func(limit int) {
		for i, a := range o.Attrs {
			p.element(a.Span(), nextStart(o.Attrs, i, limit), func() { p.attr(a) })
		}
	})
}

func (p *printer) attr(a *lang.Attr) {
	p.ident(a.Key())
	if o := a.Value().Object(); o != nil {
		p.write(" ")
		p.body(o)
		return
	}
	p.write(" = ")
	p.value(a.Value(), 0)
}

// value prints a value that ends a line, followed by suffix columns (a
// comma in a list): lists and objects may take several lines.
func (p *printer) value(v *lang.Value, suffix int) {
	switch {
	case v.List() != nil:
		p.list(v, suffix)
	case v.Object() != nil:
		p.body(v.Object())
	default:
		p.inline(v)
	}
}

// inline prints a value on the current line.
func (p *printer) inline(v *lang.Value) {
	p.hoist(v.End().Offset())
	p.writeBytes(appendValue(p.scratch[:0], v))
}

func (p *printer) list(v *lang.Value, suffix int) {
	l := v.List()
	if p.flat(v) && (len(l.Items) == 0 || p.fitsValue(v, suffix)) {
		p.inline(v)
		return
	}
	first := l.End().Offset() - 1
	if len(l.Items) > 0 {
		first = l.Items[0].Start().Offset()
	}
	p.block(l.Span, first, "[", "]", func(limit int) {
		for i, item := range l.Items {
			p.element(item.Span, nextStart(l.Items, i, limit), func() { p.item(item) })
		}
	})
}

// item prints one item of a list laid out one item per line.
func (p *printer) item(v *lang.Value) {
	if v.Object() != nil && p.flat(v) && p.fitsValue(v, 1) {
		p.inline(v)
	} else {
		p.value(v, 1)
	}
	p.write(",")
}

// flat reports whether a value may print on one line: it holds no comment
// and no list in it holds an object. Width is checked apart.
func (p *printer) flat(v *lang.Value) bool {
	switch {
	case v.List() != nil:
		if p.hasComment(v.Span) {
			return false
		}
		for _, item := range v.List().Items {
			if item.Object() != nil || !p.flat(item) {
				return false
			}
		}
	case v.Object() != nil:
		if p.hasComment(v.Span) {
			return false
		}
		for _, a := range v.Object().Attrs {
			if !p.flat(a.Value()) {
				return false
			}
		}
	}
	return true
}

// typ prints a type that ends a line's tail: a record takes one line per
// field.
func (p *printer) typ(t *lang.Type) {
	if t.Record == nil {
		p.hoist(t.End().Offset())
		p.writeBytes(appendType(p.scratch[:0], t))
		return
	}
	p.record(t.Record)
	if t.Optional {
		p.hoist(t.End().Offset())
		p.write("?")
	}
}

func (p *printer) record(r *lang.Record) {
	first := r.End().Offset() - 1
	if len(r.Fields) > 0 {
		first = r.Fields[0].Start().Offset()
	}
	p.block(r.Span, first, "{", "}", func(limit int) {
		for i, f := range r.Fields {
			p.element(f.Span, nextStart(r.Fields, i, limit), func() {
				p.ident(f.Name)
				p.write(" ")
				p.typ(f.Type)
			})
		}
	})
}

// The append functions render a node on one line, for type and call
// arguments, inline lists and objects, and width checks.

func appendValue(b []byte, v *lang.Value) []byte {
	switch {
	case v.List() != nil:
		b = append(b, '[')
		for i, item := range v.List().Items {
			if i > 0 {
				b = append(b, ", "...)
			}
			b = appendValue(b, item)
		}
		return append(b, ']')
	case v.Object() != nil:
		return appendObject(b, v.Object())
	case v.Ref() != nil:
		return appendRef(b, v.Ref())
	}
	return append(b, v.Text()...)
}

func appendObject(b []byte, o *lang.Object) []byte {
	if len(o.Attrs) == 0 {
		return append(b, "{}"...)
	}
	b = append(b, "{ "...)
	for i, a := range o.Attrs {
		if i > 0 {
			b = append(b, ", "...)
		}
		b = append(b, a.Key().Name...)
		if a.Value().Object() != nil {
			b = append(b, ' ')
		} else {
			b = append(b, " = "...)
		}
		b = appendValue(b, a.Value())
	}
	return append(b, " }"...)
}

func appendRef(b []byte, r *lang.Ref) []byte {
	for i, part := range r.Parts {
		if i > 0 {
			b = append(b, '.')
		}
		b = append(b, part.Name...)
	}
	if len(r.TypeArgs()) > 0 {
		b = append(b, '<')
		for i, t := range r.TypeArgs() {
			if i > 0 {
				b = append(b, ", "...)
			}
			b = appendType(b, t)
		}
		b = append(b, '>')
	}
	if r.Args() != nil {
		b = append(b, '(')
		for i, v := range r.Args().Values {
			if i > 0 {
				b = append(b, ", "...)
			}
			b = appendValue(b, v)
		}
		b = append(b, ')')
	}
	return b
}

func appendType(b []byte, t *lang.Type) []byte {
	switch {
	case t.Record != nil && len(t.Record.Fields) == 0:
		b = append(b, "{}"...)
	case t.Record != nil:
		b = append(b, "{ "...)
		for i, f := range t.Record.Fields {
			if i > 0 {
				b = append(b, ", "...)
			}
			b = append(b, f.Name.Name...)
			b = append(b, ' ')
			b = appendType(b, f.Type)
		}
		b = append(b, " }"...)
	case t.Name != nil:
		b = appendRef(b, t.Name)
	}
	if t.Optional {
		b = append(b, '?')
	}
	return b
}
