package lang

// The productions that participle calls (names, types, a parameter's
// default, a body participle reads itself) know no file: their positions
// are unbound (see unbound), and their texts still point into the source,
// until the parser binds them here, once participle has parsed the
// declaration. Nodes already bound, such as a body read from the scanned
// tokens, are not walked again.

// bindDecl binds the unbound positions of declaration d to file f, and
// copies their texts out of the source with in.
func bindDecl(f *posFile, in *interner, d Decl) {
	b := binder{f, in}
	switch d := d.(type) {
	case *Mesh:
		b.ident(d.Name)
		b.object(d.Body)
	case *Param:
		b.ident(d.Name)
		b.typ(d.Type)
		b.value(d.Default)
	case *TypeDecl:
		b.ident(d.Name)
		b.typ(d.Type)
	case *Topic:
		b.ident(d.Name)
		b.typ(d.Schema)
		b.idents(d.Flags)
		b.object(d.Body)
	case *Function:
		b.ident(d.Name)
		b.idents(d.Inputs)
		b.ident(d.Output)
		b.object(d.Body)
	case *Source:
		b.ident(d.Name)
		b.ident(d.Output)
		b.object(d.Body)
	case *Sink:
		b.ident(d.Name)
		b.idents(d.Inputs)
		b.object(d.Body)
	case *Test:
		b.ident(d.Name)
		b.object(d.Body)
	}
}

type binder struct {
	f  *posFile
	in *interner
}

// span binds s and reports whether it was unbound, so that its node's
// children are to be bound too.
func (b binder) span(s *Span) bool {
	if s.file != nil {
		return false
	}
	s.file = b.f
	return true
}

func (b binder) ident(id *Ident) {
	if id != nil && b.span(&id.Span) {
		id.Name = b.in.intern(id.Name)
	}
}

func (b binder) idents(ids []*Ident) {
	for _, id := range ids {
		b.ident(id)
	}
}

func (b binder) object(o *Object) {
	if o == nil || !b.span(&o.Span) {
		return
	}
	for _, a := range o.Attrs {
		b.ident(&a.key)
		b.value(&a.value)
	}
}

func (b binder) value(v *Value) {
	if v == nil || !b.span(&v.Span) {
		return
	}
	if l, ok := v.node.(*literal); ok {
		l.text = b.in.intern(l.text)
	}
	switch {
	case v.List() != nil:
		b.span(&v.List().Span)
		b.values(v.List().Items)
	case v.Object() != nil:
		b.object(v.Object())
	case v.Ref() != nil:
		b.ref(v.Ref())
	}
}

func (b binder) values(vs []*Value) {
	for _, v := range vs {
		b.value(v)
	}
}

func (b binder) ref(r *Ref) {
	if r == nil || !b.span(&r.Span) {
		return
	}
	b.idents(r.Parts)
	for _, t := range r.TypeArgs() {
		b.typ(t)
	}
	if a := r.Args(); a != nil {
		b.span(&a.Span)
		b.values(a.Values)
	}
}

func (b binder) typ(t *Type) {
	if t == nil || !b.span(&t.Span) {
		return
	}
	b.ref(t.Name)
	if r := t.Record; r != nil && b.span(&r.Span) {
		for _, f := range r.Fields {
			b.span(&f.Span)
			b.ident(f.Name)
			b.typ(f.Type)
		}
	}
}
