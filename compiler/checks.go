package compiler

import (
	"fmt"
	"slices"

	"github.com/meshc/meshc/lang"
)

// checkSchemas works out what each component reads and writes and checks
// it against its topics, then checks the writers of each topic against
// each other.
func (c *compiler) checkSchemas() {
	for _, comp := range c.mesh.Components {
		var b *Builtin
		if comp.Impl.Kind == ImplBuiltin {
			b = LookupBuiltin(comp.Kind, comp.Impl.Name)
		}
		c.inputSchema(comp, b)
		c.outputSchema(comp, b)
		if b != nil {
			c.checkBuiltin(comp, b)
		}
	}
	for _, t := range c.mesh.Topics {
		c.checkWriters(t)
		c.checkPattern(t)
	}
	c.checkSubscriptions()
}

// checkSubscriptions reports two components that read one topic under one
// subscription name: Pulsar would share the messages out between them, so
// each would see only part of the stream.
func (c *compiler) checkSubscriptions() {
	for _, t := range c.mesh.Topics {
		// A topic's few readers are searched; many get a map.
		var first map[string]*Component
		if len(t.Readers) > fewReaders {
			first = make(map[string]*Component, len(t.Readers))
		}
		for j, comp := range t.Readers {
			name := comp.Options.Subscription.Name
			other := earlierReader(t.Readers[:j], name, first)
			if other == nil {
				if first != nil {
					first[name] = comp
				}
				continue
			}
			at := comp.inputSpans[slices.Index(comp.Inputs, t)]
			if s, ok := comp.Options.Set.Get("subscription"); ok && !c.inDefaults(s) {
				at = s
			}
			d := c.errorf(at, "%s %s and %s %s both read topic %s as subscription %q", other.Kind, other.Name, comp.Kind, comp.Name, t.Name, name).WithHint(
				"each would get only part of the messages; give each its own subscription name")
			d.Related = append(d.Related, lang.Related{Pos: other.nameSpan.Start(), End: other.nameSpan.End(), Message: other.Name + " subscribes here"})
		}
	}
}

// fewReaders is how many readers a topic may have before their
// subscriptions are checked for repeats with a map.
const fewReaders = 8

// earlierReader returns the first of before that subscribes as name, or
// nil: from first if it is not nil, else by a search.
func earlierReader(before []*Component, name string, first map[string]*Component) *Component {
	if first != nil {
		return first[name]
	}
	for _, r := range before {
		if r.Options.Subscription.Name == name {
			return r
		}
	}
	return nil
}

// who names a component with its implementation, for messages.
func who(comp *Component) string {
	switch comp.Impl.Kind {
	case ImplBuiltin, ImplGo:
		return fmt.Sprintf("%s %s (%s)", comp.Kind, comp.Name, comp.Impl)
	}
	return fmt.Sprintf("%s %s", comp.Kind, comp.Name)
}

// inputSchema sets comp.In from accepts, the built-in's signature or the
// first input, and checks every input topic against it.
func (c *compiler) inputSchema(comp *Component, b *Builtin) {
	if comp.Kind == Source {
		return
	}
	accepts, hasAccepts := comp.Options.Set.Get("accepts")
	switch {
	case comp.In != nil && b != nil && b.In != nil && !b.In.Equal(comp.In):
		c.errorf(accepts, "builtin.%s reads %s; accepts = %s disagrees", b.Name, b.In, comp.In).WithHint("remove accepts: built-ins have fixed signatures")
		comp.In = b.In
	case comp.In != nil:
	case b != nil && b.In != nil:
		comp.In = b.In
	case hasAccepts:
		return // accepts did not resolve; reported already
	case b != nil && !b.Same:
		return // a built-in sink reads any schema
	default:
		bindInput(comp)
	}
	if comp.In == nil {
		return
	}
	for i, t := range comp.Inputs {
		if t.Schema == nil {
			continue
		}
		if err := comp.In.Accepts(t.Schema); err != nil {
			d := c.errorf(comp.inputSpans[i], "%s cannot read topic %s: %v", who(comp), t.Name, err)
			d.Related = append(d.Related, lang.Related{Pos: t.Schema.Span.Start(), End: t.Schema.Span.End(), Message: fmt.Sprintf("%s has schema %s", t.Name, t.Schema)})
			switch {
			case b == nil && !hasAccepts:
				d.Hint = "its inputs must share one schema, or set accepts to a schema they all satisfy"
			case b != nil && b.Same:
				d.Hint = fmt.Sprintf("builtin.%s (%s) reads one schema: that of its first input", b.Name, b.Signature())
			}
		}
	}
}

// bindInput takes the schema of the first input for an implementation
// with no declared input type (T of a generic built-in, or go and exec
// without accepts).
func bindInput(comp *Component) {
	for _, t := range comp.Inputs {
		if t.Schema != nil {
			comp.In = t.Schema
			return
		}
	}
}

// outputSchema sets comp.Out and checks it against the output and the
// topics comp publishes to, and comp's dead-letter topic against its inputs.
func (c *compiler) outputSchema(comp *Component, b *Builtin) {
	if comp.Kind == Sink {
		c.checkDeadLetter(comp)
		return
	}
	returns, hasReturns := comp.Options.Set.Get("returns")
	var fixed *Schema
	if b != nil {
		fixed = b.Out
		if b.Same {
			fixed = comp.In
		}
	}
	switch {
	case comp.Out != nil && fixed != nil && !fixed.Equal(comp.Out):
		c.errorf(returns, "builtin.%s writes %s; returns = %s disagrees", b.Name, fixed, comp.Out).WithHint("remove returns: built-ins have fixed signatures")
		comp.Out = fixed
	case comp.Out != nil:
	case fixed != nil:
		comp.Out = fixed
	case hasReturns:
		return
	case comp.Output != nil:
		comp.Out = comp.Output.Schema
	}
	if comp.Out != nil && comp.Output != nil && comp.Output.Schema != nil {
		c.checkWrite(comp, comp.Output, comp.outputSpan)
	}
	for _, t := range comp.Options.Publishes {
		if comp.Out != nil && t.Schema != nil {
			c.checkWrite(comp, t, comp.Options.Set.At("publishes"))
		}
	}
	c.checkDeadLetter(comp)
}

func (c *compiler) checkWrite(comp *Component, t *Topic, at lang.Span) {
	if err := t.Schema.Accepts(comp.Out); err != nil {
		d := c.errorf(at, "%s writes %s, which topic %s does not accept: %v", who(comp), comp.Out, t.Name, err)
		d.Related = append(d.Related, lang.Related{Pos: t.Schema.Span.Start(), End: t.Schema.Span.End(), Message: fmt.Sprintf("%s has schema %s", t.Name, t.Schema)})
	}
}

// checkDeadLetter checks that the dead-letter topic takes the messages of
// every input, since failed messages go there unchanged.
func (c *compiler) checkDeadLetter(comp *Component) {
	dl := comp.Options.DeadLetter
	if dl == nil || dl.Schema == nil {
		return
	}
	for _, t := range comp.Inputs {
		if t.Schema == nil {
			continue
		}
		if err := dl.Schema.Accepts(t.Schema); err != nil {
			c.errorf(comp.Options.Set.At("dead_letter"), "%s: dead-letter topic %s cannot take the messages of %s: %v", who(comp), dl.Name, t.Name, err).WithHint(
				"failed messages go to the dead-letter topic unchanged: give it the schema of the inputs")
		}
	}
}

// checkWriters reports writers whose schemas differ from each other's.
// Each may be accepted by the topic (extra or optional fields), but
// readers would then see two shapes on one topic.
func (c *compiler) checkWriters(t *Topic) {
	var first *Component
	for _, w := range t.Writers {
		if w.Out == nil || (w.Options.Log == t || w.Options.DeadLetter == t) {
			continue
		}
		if t.Schema != nil && t.Schema.Accepts(w.Out) != nil {
			continue // reported as a bad write
		}
		if first == nil {
			first = w
			continue
		}
		if !first.Out.Equal(w.Out) {
			d := c.errorf(w.nameSpan, "%s and %s write different schemas to topic %s: %s and %s", first.Name, w.Name, t.Name, first.Out, w.Out).WithHint(
				"make both write the same schema")
			d.Related = append(d.Related, lang.Related{Pos: first.nameSpan.Start(), End: first.nameSpan.End(), Message: fmt.Sprintf("%s writes %s", first.Name, first.Out)})
		}
	}
}

// checkPattern checks that every topic a pattern matches has a schema the
// pattern topic accepts.
func (c *compiler) checkPattern(t *Topic) {
	if t.Schema == nil {
		return
	}
	for _, m := range t.Matches {
		if m.Schema == nil {
			continue
		}
		if err := t.Schema.Accepts(m.Schema); err != nil {
			d := c.errorf(t.nameSpan, "pattern topic %s matches topic %s, whose schema %s it does not accept: %v", t.Name, m.Name, m.Schema, err).WithHint(
				"narrow the pattern or align the schemas")
			d.Related = append(d.Related, lang.Related{Pos: m.nameSpan.Start(), End: m.nameSpan.End(), Message: fmt.Sprintf("%s is %s, schema %s", m.Name, m.FullName, m.Schema)})
		}
	}
}

// checkBuiltin checks what a built-in needs: state, publish targets and
// its configuration keys.
func (c *compiler) checkBuiltin(comp *Component, b *Builtin) {
	o := &comp.Options
	use := comp.Impl.Span
	if b.State && !o.State {
		c.errorf(use, "builtin.%s keeps key-value state", b.Name).WithHint("set state = true in %s %s", comp.Kind, comp.Name)
	}
	if _, ok := o.Set.Get("publishes"); ok && !b.Publishes {
		c.errorf(o.Set.At("publishes"), "builtin.%s publishes to no other topic", b.Name).WithHint("remove publishes, or use builtin.route")
	}
	if b.Publishes && len(o.Publishes) == 0 {
		c.errorf(use, "builtin.%s needs the topics it may publish to", b.Name).WithHint("list them: publishes = [TOPIC, ...]")
	}
	c.checkConfig(comp, b)
}

func (c *compiler) checkConfig(comp *Component, b *Builtin) {
	given := map[string]*lang.Attr{}
	if a := comp.configAttr; a != nil && a.Value().Object() != nil {
		for _, kv := range a.Value().Object().Attrs {
			given[kv.Key().Name] = kv
		}
	}
	var names []string
	for _, k := range b.Config {
		names = append(names, k.Name)
		kv, ok := given[k.Name]
		if !ok {
			if k.Required {
				c.errorf(comp.Impl.Span, "builtin.%s needs config %s (%s)", b.Name, k.Name, k.Kind).WithHint("add it: config { %s = ... }", k.Name)
			}
			continue
		}
		c.configKind(kv, k.Kind)
	}
	if comp.configAttr == nil || comp.configAttr.Value().Object() == nil {
		return
	}
	for _, kv := range comp.configAttr.Value().Object().Attrs {
		if !slices.Contains(names, kv.Key().Name) {
			d := c.errorf(kv.Key().Span, "builtin.%s has no config key %s", b.Name, kv.Key().Name)
			c.suggest(d, kv.Key().Name, names)
			if d.Hint == "" && len(names) > 0 {
				d.Hint = "its keys: " + joinNames(names)
			} else if d.Hint == "" {
				d.Hint = "it takes no config"
			}
		}
	}
	if b.Name == "route" && comp.Kind == Function {
		c.checkRoutes(comp, given["routes"])
	}
	if b.Name == "project" && comp.Kind == Function {
		c.checkProject(comp, given["fields"])
	}
}

func (c *compiler) configKind(kv *lang.Attr, kind string) {
	want := map[string]valueKind{"string": kString, "int": kInt, "duration": kDuration, "list": kList, "object": kObject}[kind]
	c.mute++
	v, ok := c.eval(kv.Value())
	c.mute--
	if ok && v.kind != want {
		c.errorf(kv.Value().Span, "config %s wants %s, found %s", kv.Key().Name, article(kind), v.describe())
	}
}

// checkRoutes checks that each route leads to a topic of publishes.
func (c *compiler) checkRoutes(comp *Component, routes *lang.Attr) {
	if routes == nil || routes.Value().Object() == nil {
		return
	}
	for _, r := range routes.Value().Object().Attrs {
		c.mute++
		v, ok := c.eval(r.Value())
		c.mute--
		if !ok || v.kind != kString {
			c.errorf(r.Value().Span, "route %s wants a topic name as a string", r.Key().Name)
			continue
		}
		name := v.s
		if !slices.ContainsFunc(comp.Options.Publishes, func(t *Topic) bool { return t.Name == name || t.FullName == name }) {
			d := c.errorf(r.Value().Span, "route %s leads to %q, which is not in publishes", r.Key().Name, name)
			var cands []string
			for _, t := range comp.Options.Publishes {
				cands = append(cands, t.Name)
			}
			c.suggest(d, name, cands)
			if d.Hint == "" {
				d.Hint = "add the topic to publishes"
			}
		}
	}
}

// checkProject checks the projected fields against the input record and
// the output topic's required fields.
func (c *compiler) checkProject(comp *Component, fields *lang.Attr) {
	if fields == nil || fields.Value().List() == nil {
		return
	}
	kept := map[string]bool{}
	for _, it := range fields.Value().List().Items {
		c.mute++
		v, ok := c.eval(it)
		c.mute--
		if !ok || v.kind != kString {
			c.errorf(it.Span, "project fields are field names as strings")
			continue
		}
		name := v.s
		kept[name] = true
		for _, t := range comp.Inputs {
			if t.Schema == nil || t.Schema.Record == nil {
				continue
			}
			if t.Schema.Record.Field(name) == nil {
				d := c.errorf(it.Span, "project keeps field %q, which topic %s (%s) does not have", name, t.Name, t.Schema)
				var cands []string
				for _, f := range t.Schema.Record.Fields {
					cands = append(cands, f.Name)
				}
				c.suggest(d, name, cands)
			}
		}
	}
	if out := comp.Output; out != nil && out.Schema != nil && out.Schema.Record != nil {
		for _, f := range out.Schema.Record.Fields {
			if !f.Optional && !kept[f.Name] {
				c.errorf(comp.outputSpan, "topic %s requires field %q, which project does not keep", out.Name, f.Name).WithHint("add %q to config fields, or make the field optional", f.Name)
			}
		}
	}
}
