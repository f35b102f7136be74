package meshtest

import (
	"slices"
	"strings"

	"github.com/meshc/meshc/lang"
	"github.com/meshc/meshc/planner/plan"
)

// topicCheck checks what one case says of the topics and functions of its
// plan.
type topicCheck struct {
	*loader
	plan    *plan.Plan
	writers map[string][]string // topic FQN -> "function NAME", "source NAME"
}

// writers lists, for each topic, the functions and sources that write it:
// their outputs, the topics they may publish to and their dead letters.
func writers(p *plan.Plan) map[string][]string {
	w := map[string][]string{}
	for _, c := range p.Components {
		who := string(c.Kind) + " " + c.Name
		if c.Output != nil {
			w[c.Output.Topic] = append(w[c.Output.Topic], who)
		}
		for _, o := range c.Publishes {
			w[o.Topic] = append(w[o.Topic], who)
		}
		if c.DeadLetterTopic != "" {
			w[c.DeadLetterTopic] = append(w[c.DeadLetterTopic], who)
		}
	}
	return w
}

// functionWriters are the functions among the writers of a topic: only
// functions run in a test.
func (tc *topicCheck) functionWriters(fqn string) []string {
	var fns []string
	for _, w := range tc.writers[fqn] {
		if strings.HasPrefix(w, string(plan.Function)+" ") {
			fns = append(fns, w)
		}
	}
	return fns
}

// topic finds the topic a name in the test file names.
func (tc *topicCheck) topic(id *lang.Ident) (plan.Topic, bool) {
	var names []string
	for _, t := range tc.plan.Topics {
		if t.Name == id.Name {
			return t, true
		}
		names = append(names, t.Name)
	}
	tc.errorf(id.Span, "mesh %s has no topic %q", tc.plan.Mesh.Name, id.Name).WithHint("its topics are: %s", orNone(names))
	return plan.Topic{}, false
}

// isDeadLetter tells whether a function sends its failures to topic fqn.
func (tc *topicCheck) isDeadLetter(fqn string) bool {
	return slices.ContainsFunc(tc.plan.Components, func(c plan.Component) bool { return c.DeadLetterTopic == fqn })
}

func (tc *topicCheck) sends(v *lang.Value) []Send {
	var sends []Send
	for _, a := range tc.object(v, "send") {
		t, ok := tc.topic(a.Key())
		if !ok {
			continue
		}
		if fns := tc.functionWriters(t.FQN); len(fns) > 0 {
			tc.errorf(a.Key().Span, "topic %s is written by %s: a test sends only to topics that sources or the outside write", t.Name, strings.Join(fns, ", ")).WithHint(
				"send to the inputs of the mesh, and expect what %s writes", fns[0])
			continue
		}
		if t.Pattern != "" {
			tc.errorf(a.Key().Span, "topic %s stands for a pattern of topics, which a test cannot send to", t.Name)
			continue
		}
		s := Send{At: a.Key().Span, Topic: t}
		if o := a.Value().Object(); o != nil {
			s.Messages = tc.block(o, t, sendBlockAttrs)
		} else {
			s.Messages = tc.messages(a.Value(), t, false)
		}
		for i := range s.Messages {
			tc.encode(&s.Messages[i], t)
		}
		sends = append(sends, s)
	}
	return sends
}

var (
	sendBlockAttrs   = []string{"value", "key", "properties", "event_time", "file"}
	expectBlockAttrs = []string{"order", "messages", "file"}
	envelopeAttrs    = []string{"value", "key", "properties", "event_time", "reason"}
)

// block reads a send block: one message with its metadata, or the lines
// of a file.
func (tc *topicCheck) block(o *lang.Object, t plan.Topic, allowed []string) []Message {
	if !tc.known(o, allowed, "a send block") {
		if !isEnvelope(o) && t.Schema.Type == "json" {
			tc.errorf(o.Span, "a record sent goes in a list: %s = [{ ... }]", t.Name)
		}
		return nil
	}
	file := attr(o, "file")
	if file != nil && attr(o, "value") != nil {
		tc.errorf(file.Key().Span, "a send block takes a value or a file, not both")
		return nil
	}
	if file == nil {
		m, ok := tc.envelope(o, t, false, true)
		if !ok {
			return nil
		}
		return []Message{m}
	}
	// The key, properties and event time of the block go with every line.
	rest := &lang.Object{Span: o.Span}
	for _, a := range o.Attrs {
		if a != file {
			rest.Attrs = append(rest.Attrs, a)
		}
	}
	meta, ok := tc.envelope(rest, t, false, false)
	if !ok {
		return nil
	}
	ms := tc.fileMessages(file.Value(), t, false)
	for i := range ms {
		ms[i].Key, ms[i].Properties, ms[i].EventTime = meta.Key, meta.Properties, meta.EventTime
	}
	return ms
}

// known reports attributes of o that are not among allowed.
func (tc *topicCheck) known(o *lang.Object, allowed []string, what string) bool {
	ok := true
	for _, a := range o.Attrs {
		if !slices.Contains(allowed, a.Key().Name) {
			tc.errorf(a.Key().Span, "unknown attribute %q in %s", a.Key().Name, what).WithHint("it takes: %s", strings.Join(allowed, ", "))
			ok = false
		}
	}
	return ok
}

func attr(o *lang.Object, key string) *lang.Attr {
	for _, a := range o.Attrs {
		if a.Key().Name == key {
			return a
		}
	}
	return nil
}

// messages reads a value or a list of them: each a value of the topic,
// or a message with its metadata.
func (tc *topicCheck) messages(v *lang.Value, t plan.Topic, expect bool) []Message {
	items := []*lang.Value{v}
	if v.List() != nil {
		items = v.List().Items
	}
	var ms []Message
	for _, item := range items {
		if o := item.Object(); o != nil && isEnvelope(o) {
			if m, ok := tc.envelope(o, t, expect, !expect); ok {
				ms = append(ms, m)
			}
			continue
		}
		val, ok := tc.value(item)
		if ok {
			ms = append(ms, Message{Span: item.Span, Value: val})
		}
	}
	return ms
}

// isEnvelope tells a message with metadata, { value = ... key = ... },
// from a record: it has nothing but what a message has.
func isEnvelope(o *lang.Object) bool {
	if len(o.Attrs) == 0 {
		return false
	}
	for _, a := range o.Attrs {
		if !slices.Contains(envelopeAttrs, a.Key().Name) {
			return false
		}
	}
	return true
}

// envelope reads a message with its metadata: one expected, or one sent,
// which needs a value unless its lines come from a file.
func (tc *topicCheck) envelope(o *lang.Object, t plan.Topic, expect, needValue bool) (Message, bool) {
	m := Message{Span: o.Span}
	ok := true
	for _, a := range o.Attrs {
		switch a.Key().Name {
		case "value":
			val, good := tc.value(a.Value())
			m.Value, ok = val, ok && good
		case "key":
			s, good := tc.text(a.Value(), "key")
			m.Key, ok = &s, ok && good
		case "properties":
			m.Properties = map[string]string{}
			for _, p := range tc.object(a.Value(), "properties") {
				s, good := tc.text(p.Value(), p.Key().Name)
				m.Properties[p.Key().Name], ok = s, ok && good
			}
		case "event_time":
			m.EventTime = tc.eventTime(a.Value())
			ok = ok && !m.EventTime.IsZero()
			if expect {
				tc.errorf(a.Key().Span, "event_time is for messages a case sends").WithHint("expect the values, keys, properties or reasons of what functions write")
				ok = false
			}
		case "reason":
			s, good := tc.text(a.Value(), "reason")
			m.Reason, ok = &s, ok && good
			if !expect || !tc.isDeadLetter(t.FQN) {
				tc.errorf(a.Key().Span, "reason is for messages expected on a dead-letter topic, and %s is none", t.Name)
				ok = false
			}
		default:
			tc.errorf(a.Key().Span, "unknown attribute %q of a message", a.Key().Name).WithHint("a message takes: %s", strings.Join(envelopeAttrs, ", "))
			ok = false
		}
	}
	if attr(o, "value") == nil && needValue {
		tc.errorf(o.Span, "a message sent needs a value")
		ok = false
	}
	return m, ok
}

func (tc *topicCheck) text(v *lang.Value, what string) (string, bool) {
	if v.Lit() != lang.StringLit {
		tc.errorf(v.Span, "%s: want a string", what)
		return "", false
	}
	s, err := lang.Unquote(v.Text())
	if err != nil {
		tc.errorf(v.Span, "%s: %v", what, err)
		return "", false
	}
	return s, true
}

func (tc *topicCheck) expects(v *lang.Value) []*Expect {
	var expects []*Expect
	for _, a := range tc.object(v, "expect") {
		t, ok := tc.topic(a.Key())
		if !ok {
			continue
		}
		if len(tc.functionWriters(t.FQN)) == 0 {
			d := tc.errorf(a.Key().Span, "nothing in a test writes topic %s", t.Name)
			if w := tc.writers[t.FQN]; len(w) > 0 {
				d.WithHint("only %s writes it, and sources do not run in tests: the case sends what they would write", strings.Join(w, ", "))
			} else {
				d.WithHint("expect the topics that functions of the mesh write")
			}
			continue
		}
		e := &Expect{At: a.Key().Span, Topic: t, Order: Exact}
		if o := a.Value().Object(); o != nil {
			tc.expectBlock(e, o)
		} else {
			e.Messages = tc.messages(a.Value(), t, true)
		}
		for i := range e.Messages {
			tc.normalize(&e.Messages[i], t)
		}
		if e.Order == KeyOrder {
			for _, m := range e.Messages {
				if m.Key == nil {
					tc.errorf(m.Span, "order = key needs the key of every message: write { key = \"...\" value = ... }")
				}
			}
		}
		expects = append(expects, e)
	}
	return expects
}

func (tc *topicCheck) expectBlock(e *Expect, o *lang.Object) {
	if !tc.known(o, expectBlockAttrs, "an expect block") {
		return
	}
	if a := attr(o, "order"); a != nil {
		word := ""
		if r := a.Value().Ref(); r != nil && len(r.Parts) == 1 && r.Args() == nil {
			word = r.Parts[0].Name
		}
		switch Order(word) {
		case Exact, AnyOrder, KeyOrder:
			e.Order = Order(word)
		default:
			tc.errorf(a.Value().Span, "order: want exact, any or key")
		}
	}
	ms, file := attr(o, "messages"), attr(o, "file")
	switch {
	case ms != nil && file != nil:
		tc.errorf(file.Key().Span, "an expect block takes messages or file, not both")
	case ms != nil:
		e.Messages = tc.messages(ms.Value(), e.Topic, true)
	case file != nil:
		e.Messages = tc.fileMessages(file.Value(), e.Topic, true)
	}
}

// state reads FUNCTION = [{ key = "..." value = "..." | counter = N }, ...].
func (tc *topicCheck) state(v *lang.Value, what string) []StateEntry {
	var entries []StateEntry
	for _, a := range tc.object(v, what) {
		if !tc.stateful(a.Key()) {
			continue
		}
		items := []*lang.Value{a.Value()}
		if a.Value().List() != nil {
			items = a.Value().List().Items
		}
		for _, item := range items {
			if e, ok := tc.stateEntry(a.Key().Name, item); ok {
				entries = append(entries, e)
			}
		}
	}
	return entries
}

func (tc *topicCheck) stateful(id *lang.Ident) bool {
	var names []string
	for _, c := range tc.plan.Components {
		if c.Kind != plan.Function || !c.State {
			continue
		}
		if c.Name == id.Name {
			return true
		}
		names = append(names, c.Name)
	}
	tc.errorf(id.Span, "mesh %s has no function %q that keeps state", tc.plan.Mesh.Name, id.Name).WithHint(
		"functions with state = true: %s", orNone(names))
	return false
}

func (tc *topicCheck) stateEntry(fn string, v *lang.Value) (StateEntry, bool) {
	e := StateEntry{Span: v.Span, Function: fn}
	if v.Object() == nil || !tc.known(v.Object(), []string{"key", "value", "counter"}, "a state entry") {
		if v.Object() == nil {
			tc.errorf(v.Span, `a state entry reads { key = "..." value = "..." } or { key = "..." counter = N }`)
		}
		return e, false
	}
	ok := true
	for _, a := range v.Object().Attrs {
		switch a.Key().Name {
		case "key":
			k, good := tc.text(a.Value(), "key")
			e.Key, ok = k, ok && good
		case "value":
			s, good := tc.text(a.Value(), "value")
			e.Value, ok = &s, ok && good
		case "counter":
			n, good := intValue(a.Value())
			if !good {
				tc.errorf(a.Value().Span, "counter: want an integer")
			}
			e.Counter, ok = &n, ok && good
		}
	}
	if attr(v.Object(), "key") == nil || (e.Value == nil) == (e.Counter == nil) {
		tc.errorf(v.Span, "a state entry needs a key and one of value or counter")
		return e, false
	}
	return e, ok
}
