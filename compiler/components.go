package compiler

import (
	"slices"

	"github.com/meshc/meshc/lang"
)

// resolveComponents reads every function, source and sink: its topics, its
// implementation and its options, with mesh.defaults applied.
func (c *compiler) resolveComponents() {
	c.checkDefaults()
	c.mesh.Components = slices.Grow(c.mesh.Components, len(c.compDecls))
	for i, d := range c.compDecls {
		comp := &c.compBlock[i]
		c.component(comp, d)
		c.mesh.Components = append(c.mesh.Components, comp)
	}
}

// declParts takes a function, source or sink declaration apart.
func declParts(d lang.Decl) (kind Kind, name *lang.Ident, inputs []*lang.Ident, output *lang.Ident, body *lang.Object, span lang.Span) {
	switch d := d.(type) {
	case *lang.Function:
		return Function, d.Name, d.Inputs, d.Output, d.Body, d.Span
	case *lang.Source:
		return Source, d.Name, nil, d.Output, d.Body, d.Span
	case *lang.Sink:
		return Sink, d.Name, d.Inputs, nil, d.Body, d.Span
	}
	panic("not a component")
}

// component reads declaration d into comp.
func (c *compiler) component(comp *Component, d lang.Decl) {
	kind, name, inputs, output, body, span := declParts(d)
	*comp = Component{Kind: kind, Name: name.Name, Span: span, nameSpan: name.Span}
	comp.Options = Options{Replicas: 1, MaxRetries: -1, Guarantee: AtLeastOnce}
	if len(inputs) > 0 {
		comp.Inputs = c.topicLists.take(len(inputs))
		comp.inputSpans = c.spanLists.take(len(inputs))
	}
	var seen map[string]*lang.Ident // only for many inputs; a few are searched
	if len(inputs) > fewInputs {
		seen = make(map[string]*lang.Ident, len(inputs))
	}
	for i, in := range inputs {
		if first := earlier(inputs[:i], in.Name, seen); first != nil {
			diag := c.errorf(in.Span, "%s %s reads topic %s twice", kind, comp.Name, in.Name).WithHint("remove one of them")
			diag.Related = append(diag.Related, lang.Related{Pos: first.Start(), End: first.End(), Message: "first read here"})
			continue
		}
		if seen != nil {
			seen[in.Name] = in
		}
		if t := c.topicRef(in); t != nil {
			comp.Inputs = append(comp.Inputs, t)
			comp.inputSpans = append(comp.inputSpans, in.Span)
			t.Readers = append(c.compLists.start(t.Readers), comp)
		}
	}
	if kind != Source && len(inputs) == 0 {
		c.errorf(name.Span, "%s %s reads no topic", kind, comp.Name).WithHint("list its inputs: %s %s(TOPIC, ...)", kind, comp.Name)
	}
	if output != nil {
		if t := c.topicRef(output); t != nil {
			comp.Output, comp.outputSpan = t, output.Span
			c.write(comp, t, output.Span)
		}
	}
	c.options(comp, body)
}

// fewInputs is how many inputs a component may have before their names
// are checked for repeats with a map: searching a few spares a map each.
const fewInputs = 8

// earlier returns the first of before named name, or nil: from seen if it
// is not nil, else by a search.
func earlier(before []*lang.Ident, name string, seen map[string]*lang.Ident) *lang.Ident {
	if seen != nil {
		return seen[name]
	}
	if i := slices.IndexFunc(before, func(id *lang.Ident) bool { return id.Name == name }); i >= 0 {
		return before[i]
	}
	return nil
}

// topicRef resolves a topic name, reporting an unknown one.
func (c *compiler) topicRef(id *lang.Ident) *Topic {
	if t := c.mesh.topics[id.Name]; t != nil {
		return t
	}
	if c.mute == 0 {
		d := c.errorf(id.Span, "unknown topic %s", id.Name)
		c.suggest(d, id.Name, keys(c.mesh.topics))
		if d.Hint == "" {
			d.Hint = "declare it: topic " + id.Name + " SCHEMA"
		}
	}
	return nil
}

// write records comp as a writer of t; nothing inside the mesh may write a
// pattern topic, which stands for topics outside it.
func (c *compiler) write(comp *Component, t *Topic, at lang.Span) {
	if t.Pattern != "" {
		c.errorf(at, "%s %s writes %s, a pattern topic", comp.Kind, comp.Name, t.Name).WithHint("a pattern topic can only be read; declare the topic to write by its own name")
		return
	}
	// The component's own few writes are searched, not the topic's
	// writers, which are many when every function feeds one topic.
	if !slices.Contains(comp.wrote, t) {
		comp.wrote = append(c.topicLists.start(comp.wrote), t)
		t.Writers = append(c.compLists.start(t.Writers), comp)
	}
}

// implForms is how use may be written, for messages.
const implForms = `builtin.NAME, go("NAME"), exec("PATH", ...) or wasm("MODULE.wasm")`

// impl reads use: builtin.NAME, go("NAME"), exec("PATH", "ARG"...) or
// wasm("MODULE").
func (c *compiler) impl(comp *Component, a *lang.Attr) (Impl, bool) {
	v, ok := c.want(a, implForms, kName, kCall)
	if !ok {
		return Impl{}, false
	}
	ref := v.node.Ref()
	name := refName(ref)
	impl := Impl{Span: a.Value().Span}
	switch {
	case len(ref.Parts) == 2 && ref.Parts[0].Name == "builtin" && ref.Args() == nil && len(ref.TypeArgs()) == 0:
		impl.Kind, impl.Name = ImplBuiltin, ref.Parts[1].Name
		if LookupBuiltin(comp.Kind, impl.Name) != nil {
			return impl, true
		}
		d := c.errorf(ref.Parts[1].Span, "unknown built-in %s %s", comp.Kind, impl.Name)
		c.suggest(d, impl.Name, builtinNames(comp.Kind))
		for _, k := range []Kind{Function, Source, Sink} {
			if k != comp.Kind && LookupBuiltin(k, impl.Name) != nil && d.Hint == "" {
				d.Hint = "builtin." + impl.Name + " is a " + string(k) + ", not a " + string(comp.Kind)
			}
		}
		if d.Hint == "" {
			d.Hint = "built-in " + string(comp.Kind) + "s: " + joinNames(builtinNames(comp.Kind))
		}
		return impl, false
	case name == "go":
		args := c.stringArgs(ref, 1)
		if args == nil || args[0] == "" {
			c.errorf(ref.Span, `go takes the name of a registered Go function: go("Name")`)
			return impl, false
		}
		impl.Kind, impl.Name = ImplGo, args[0]
		return impl, true
	case (name == "exec" || name == "wasm") && comp.Kind == Source:
		c.errorf(ref.Span, "a source cannot run %s(...): sources are built-ins or Go functions", name).WithHint(
			"write the source in Go (go(\"NAME\") in an instance binary), or feed an external topic from outside the mesh")
		return impl, false
	case name == "exec":
		args := c.stringArgs(ref, -1)
		if args == nil || args[0] == "" {
			c.errorf(ref.Span, `exec takes a program and its arguments as strings: exec("./bin/score", "--fast")`)
			return impl, false
		}
		impl.Kind, impl.Command = ImplExec, args
		return impl, true
	case name == "wasm":
		args := c.stringArgs(ref, 1)
		if args == nil || args[0] == "" {
			c.errorf(ref.Span, `wasm takes the path of a WebAssembly module (WASI preview 1): wasm("score.wasm")`)
			return impl, false
		}
		impl.Kind, impl.Module = ImplWasm, args[0]
		return impl, true
	}
	d := c.errorf(ref.Span, "unknown implementation %s", name)
	cands := []string{"go", "exec", "wasm"}
	for _, n := range builtinNames(comp.Kind) {
		cands = append(cands, "builtin."+n)
	}
	c.suggest(d, name, cands)
	if d.Hint == "" {
		d.Hint = "use " + implForms
	}
	return impl, false
}
