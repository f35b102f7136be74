package compiler

import (
	"fmt"
	"slices"
	"time"

	"github.com/meshc/meshc/lang"
)

var (
	functionKeys = []string{"use", "accepts", "returns", "replicas", "min_replicas", "max_replicas", "guarantee",
		"subscription", "cpu", "memory", "timeout", "max_retries", "retain_ordering", "state", "log", "dead_letter",
		"publishes", "config", "secrets", "sandbox"}
	sourceKeys = []string{"use", "returns", "replicas", "min_replicas", "max_replicas", "cpu", "memory", "config", "secrets"}
	sinkKeys   = []string{"use", "accepts", "replicas", "min_replicas", "max_replicas", "guarantee", "subscription",
		"cpu", "memory", "timeout", "max_retries", "retain_ordering", "dead_letter", "config", "secrets"}
	// defaultKeys are the function options that make sense for many
	// components at once.
	defaultKeys = slices.DeleteFunc(slices.Clone(functionKeys), func(k string) bool {
		return k == "use" || k == "accepts" || k == "returns" || k == "publishes" || k == "sandbox"
	})
	replicaKeys      = []string{"replicas", "min_replicas", "max_replicas"}
	guarantees       = []string{string(AtMostOnce), string(AtLeastOnce), string(EffectivelyOnce)}
	subscriptionKeys = []string{"name", "type", "position"}
	sandboxKeys      = []string{"memory", "time", "dirs"}
	subTypes         = []string{"exclusive", "shared", "failover", "key_shared"}
	positions        = []string{"latest", "earliest"}
)

func keysFor(k Kind) []string {
	switch k {
	case Source:
		return sourceKeys
	case Sink:
		return sinkKeys
	}
	return functionKeys
}

// checkDefaults checks mesh.defaults once, as the options of a function;
// they are applied again, silently, to each component.
func (c *compiler) checkDefaults() {
	if len(c.defaultAttrs) == 0 {
		return
	}
	comp := &Component{Kind: Function, Options: Options{MaxRetries: -1, Guarantee: AtLeastOnce}}
	for _, a := range c.defaultAttrs {
		c.option(comp, a)
	}
	c.crossCheck(comp, "mesh.defaults")
}

// options applies mesh.defaults and then the component's own body, and
// checks the result as a whole. A component that sets any replica option
// takes none from the defaults, so that replicas and min/max never mix.
func (c *compiler) options(comp *Component, body *lang.Object) {
	who := string(comp.Kind) + " " + comp.Name // for messages: not kept beside the names in c.texts
	own := c.attrs(body, who, keysFor(comp.Kind))
	// own holds each known key once at most: a short list.
	ownKey := func(k string) bool {
		return slices.ContainsFunc(own, func(a *lang.Attr) bool { return a.Key().Name == k })
	}
	ownReplicas := slices.ContainsFunc(replicaKeys, ownKey)
	// Room for a key per attribute, grown only by nested keys (secrets.X).
	comp.Options.Set = c.optionSets.take(len(own) + len(c.defaultAttrs))
	c.mute++
	for _, a := range c.defaultAttrs {
		k := a.Key().Name
		if ownKey(k) || !slices.Contains(keysFor(comp.Kind), k) || (ownReplicas && slices.Contains(replicaKeys, k)) {
			continue
		}
		c.option(comp, a)
	}
	c.mute--
	for _, a := range own {
		c.option(comp, a)
	}
	if !ownKey("use") {
		c.errorf(comp.nameSpan, "%s %s has no use", comp.Kind, comp.Name).WithHint(`say what it runs: use = builtin.NAME, go("NAME") or exec("PATH")`)
	}
	c.finishDefaults(comp)
	c.crossCheck(comp, who)
}

// option applies one attribute to comp.
func (c *compiler) option(comp *Component, a *lang.Attr) {
	o := &comp.Options
	key := a.Key().Name
	ok := true
	switch key {
	case "use":
		comp.Impl, ok = c.impl(comp, a)
	case "accepts", "returns":
		s := c.schemaValue(a)
		ok = s != nil
		if key == "accepts" {
			comp.In = s
		} else {
			comp.Out = s
		}
	case "replicas", "min_replicas":
		var n int
		n, ok = c.intValue(a, 0)
		if key == "replicas" {
			o.Replicas = n
		} else {
			o.MinReplicas = n
		}
	case "max_replicas":
		o.MaxReplicas, ok = c.intValue(a, 1)
	case "guarantee":
		var g string
		g, ok = c.enumValue(a, "guarantee", guarantees)
		o.Guarantee = Guarantee(g)
	case "subscription":
		ok = c.subscription(o, a)
	case "cpu":
		var v value
		if v, ok = c.want(a, "a number of cores", kFloat); ok {
			o.CPU = v.f
			ok = c.positive(a, o.CPU > 0)
		}
	case "memory":
		var v value
		if v, ok = c.want(a, "a size, such as 512Mi", kSize); ok {
			o.Memory = v.n
			ok = c.positive(a, o.Memory > 0)
		}
	case "timeout":
		var v value
		if v, ok = c.want(a, "a duration, such as 10s", kDuration); ok {
			o.Timeout = time.Duration(v.n)
			ok = c.positive(a, o.Timeout > 0)
		}
	case "max_retries":
		o.MaxRetries, ok = c.intValue(a, 0)
	case "retain_ordering":
		o.RetainOrdering, ok = c.boolValue(a)
	case "state":
		o.State, ok = c.boolValue(a)
	case "log", "dead_letter":
		t := c.topicValue(a)
		ok = t != nil
		if key == "log" {
			o.Log = t
		} else {
			o.DeadLetter = t
		}
	case "publishes":
		o.Publishes, ok = c.topicList(a)
	case "config":
		ok = c.config(o, a)
		comp.configAttr = a
	case "secrets":
		ok = c.secrets(o, a)
	case "sandbox":
		ok = c.sandbox(o, a)
	}
	if ok {
		o.Set.set(key, a.Span())
	}
}

func (c *compiler) positive(a *lang.Attr, ok bool) bool {
	if !ok {
		c.errorf(a.Value().Span, "%s must be more than zero", a.Key().Name)
	}
	return ok
}

// schemaValue reads accepts or returns.
func (c *compiler) schemaValue(a *lang.Attr) *Schema {
	v := a.Value()
	if v.Ref() == nil || (len(v.Ref().Parts) > 0 && v.Ref().Parts[0].Name == "param") {
		c.errorf(v.Span, "%s wants a schema, such as string or json<Order>", a.Key().Name)
		return nil
	}
	return c.types.schema(&lang.Type{Span: v.Span, Name: v.Ref()})
}

func (c *compiler) subscription(o *Options, a *lang.Attr) bool {
	obj := c.objectValue(a)
	if obj == nil {
		return false
	}
	ok := true
	for _, s := range c.attrs(obj, "subscription", subscriptionKeys) {
		switch s.Key().Name {
		case "name":
			name, good := c.stringValue(s)
			if good && name == "" {
				c.errorf(s.Value().Span, "a subscription name cannot be empty")
				good = false
			}
			o.Subscription.Name, ok = name, ok && good
		case "type":
			t, good := c.enumValue(s, "subscription type", subTypes)
			o.Subscription.Type, ok = t, ok && good
			if good {
				o.Set.set("subscription.type", s.Span())
			}
		case "position":
			p, good := c.enumValue(s, "subscription position", positions)
			o.Subscription.Position, ok = p, ok && good
		}
	}
	return ok
}

// sandbox reads the limits of a wasm function.
func (c *compiler) sandbox(o *Options, a *lang.Attr) bool {
	obj := c.objectValue(a)
	if obj == nil {
		return false
	}
	sb := &Sandbox{}
	ok := true
	for _, s := range c.attrs(obj, "sandbox", sandboxKeys) {
		switch s.Key().Name {
		case "memory":
			v, good := c.want(s, "a size, such as 64Mi", kSize)
			if good {
				sb.Memory = v.n
				good = c.positive(s, sb.Memory > 0)
			}
			ok = ok && good
		case "time":
			v, good := c.want(s, "a duration, such as 1s", kDuration)
			if good {
				sb.Time = time.Duration(v.n)
				good = c.positive(s, sb.Time > 0)
			}
			ok = ok && good
		case "dirs":
			dirs, good := c.stringList(s)
			sb.Dirs, ok = dirs, ok && good
		}
	}
	o.Sandbox = sb
	return ok
}

// stringList reads a list of strings.
func (c *compiler) stringList(a *lang.Attr) ([]string, bool) {
	v, ok := c.want(a, "a list of strings", kList)
	if !ok {
		return nil, false
	}
	var out []string
	for _, it := range v.items {
		s, good := c.stringValue(lang.NewAttr(a.Key(), it))
		ok = ok && good
		out = append(out, s)
	}
	return out, ok
}

// topicValue reads a topic name given as a value (log, dead_letter).
func (c *compiler) topicValue(a *lang.Attr) *Topic {
	return c.topicOf(a.Value(), a.Key().Name)
}

func (c *compiler) topicOf(v *lang.Value, key string) *Topic {
	if v.Ref() == nil || len(v.Ref().Parts) != 1 || v.Ref().Args() != nil || len(v.Ref().TypeArgs()) > 0 {
		c.errorf(v.Span, "%s wants a topic name", key).WithHint("write the topic's name unquoted, as declared with topic NAME")
		return nil
	}
	return c.topicRef(v.Ref().Parts[0])
}

func (c *compiler) topicList(a *lang.Attr) ([]*Topic, bool) {
	v, ok := c.want(a, "a list of topics", kList)
	if !ok {
		return nil, false
	}
	var out []*Topic
	for _, it := range v.items {
		t := c.topicOf(it, a.Key().Name)
		if t == nil {
			ok = false
			continue
		}
		if slices.Contains(out, t) {
			c.errorf(it.Span, "topic %s is listed twice", t.Name)
			continue
		}
		out = append(out, t)
	}
	return out, ok
}

func (c *compiler) config(o *Options, a *lang.Attr) bool {
	obj := c.objectValue(a)
	if obj == nil {
		return false
	}
	cfg, ok := c.goConfig(a.Value())
	o.Config = cfg
	return ok
}

// secrets reads NAME = secret("PATH", "KEY") entries; an inline value would
// land in plans, manifests and logs, so it is an error.
func (c *compiler) secrets(o *Options, a *lang.Attr) bool {
	obj := c.objectValue(a)
	if obj == nil {
		return false
	}
	ok := true
	o.Secrets = map[string]Secret{}
	for _, s := range c.attrsAny(obj) {
		ref := c.secretValue(s, "secret "+s.Key().Name)
		if ref == nil {
			ok = false
			continue
		}
		o.Secrets[s.Key().Name] = *ref
		o.Set.set("secrets."+s.Key().Name, s.Value().Span)
	}
	return ok
}

// crossCheck checks options against each other. Pulsar's own rules come
// first (FunctionConfigUtils: a timeout only with at-least-once, no retries
// with effectively-once, a dead-letter topic only with retries), then the
// ones that follow from how guarantees are kept.
func (c *compiler) crossCheck(comp *Component, who string) {
	o := &comp.Options
	has := func(key string) bool { _, ok := o.Set.Get(key); return ok }
	// at picks where to report a conflict between keys: the first one set in
	// the component's own body. A conflict within mesh.defaults alone was
	// reported once at the defaults, so components skip it.
	at := func(keys ...string) (lang.Span, bool) {
		for _, k := range keys {
			if s, ok := o.Set.Get(k); ok && (comp.Name == "" || !c.inDefaults(s)) {
				return s, true
			}
		}
		return lang.Span{}, false
	}
	report := func(keys []string, format string, args ...any) *lang.Diagnostic {
		s, ok := at(keys...)
		if !ok {
			return &lang.Diagnostic{}
		}
		return c.errorf(s, "%s", fmt.Sprintf(format, args...))
	}
	hasMin, hasMax := has("min_replicas"), has("max_replicas")
	switch {
	case has("replicas") && (hasMin || hasMax):
		k := "min_replicas"
		if !hasMin {
			k = "max_replicas"
		}
		report([]string{k, "replicas"}, "%s sets both replicas and %s", who, k).WithHint("use replicas for a fixed count, or min_replicas and max_replicas to autoscale")
	case hasMin != hasMax:
		k, missing := "min_replicas", "max_replicas"
		if hasMax {
			k, missing = "max_replicas", "min_replicas"
		}
		report([]string{k}, "%s sets %s without %s", who, k, missing).WithHint("autoscaling needs both bounds")
	case hasMin && o.MinReplicas > o.MaxReplicas:
		report([]string{"min_replicas", "max_replicas"}, "%s: min_replicas %d is above max_replicas %d", who, o.MinReplicas, o.MaxReplicas)
	}
	sub := o.Subscription.Type
	if o.Guarantee == EffectivelyOnce && (sub == "shared" || sub == "key_shared") {
		report([]string{"subscription.type", "guarantee"}, "%s: effectively_once needs an exclusive or failover subscription, not %s", who, sub).WithHint(
			"with %s, several instances take messages of one partition and their outputs cannot be deduplicated in order", sub)
	}
	if s, ok := at("subscription.type"); ok && o.State && sub == "shared" && (o.Replicas > 1 || o.MaxReplicas > 1) {
		c.warnf(s, "%s keeps state but its instances share keys: two instances may update one key at once", who).WithHint(
			"use subscription { type = key_shared }, the default with state, so that each key has one owner")
	}
	if s, ok := at("state"); ok && o.State && !has("guarantee") {
		c.warnf(s, "%s keeps state under at_least_once, the default: a message processed again after a crash changes its state again", who).WithHint(
			"counts may end above the truth, never below; guarantee = effectively_once makes state exact, and guarantee = at_least_once says this is meant")
	}
	if o.RetainOrdering && (sub == "shared" || sub == "key_shared") {
		report([]string{"subscription.type", "retain_ordering"}, "%s: retain_ordering needs an exclusive or failover subscription, not %s", who, sub)
	}
	if has("timeout") && o.Guarantee != AtLeastOnce {
		report([]string{"timeout", "guarantee"}, "%s: timeout works only with at_least_once, not %s", who, o.Guarantee).WithHint(
			"a timed-out message is redelivered, which %s does not allow", o.Guarantee)
	}
	if has("max_retries") && o.MaxRetries > 0 && o.Guarantee != AtLeastOnce {
		report([]string{"max_retries", "guarantee"}, "%s: max_retries works only with at_least_once, not %s", who, o.Guarantee).WithHint(
			"retries redeliver messages; set max_retries = 0 or use guarantee = at_least_once")
	}
	if has("dead_letter") && !has("max_retries") && o.Guarantee == AtLeastOnce {
		report([]string{"dead_letter"}, "%s sets dead_letter without max_retries", who).WithHint(
			"without a retry limit no message ever reaches the dead-letter topic: add max_retries = N")
	}
	if has("dead_letter") && (sub == "exclusive" || sub == "failover") {
		report([]string{"subscription.type", "dead_letter"}, "%s: dead_letter needs a shared or key_shared subscription, not %s", who, sub).WithHint(
			"Pulsar sends messages to a dead-letter topic only from shared subscriptions")
	}
	if has("sandbox") && comp.Name != "" && comp.Impl.Kind != ImplWasm && comp.Impl.Kind != "" {
		report([]string{"sandbox"}, "%s: sandbox limits wasm functions only, and %s runs %s", who, comp.Name, comp.Impl.Kind).WithHint(
			"remove it, or run a WebAssembly module: use = wasm(\"MODULE.wasm\")")
	}
	if comp.Name != "" {
		c.checkTopicOptions(comp, who)
	}
}

// inDefaults reports whether s lies inside mesh.defaults.
func (c *compiler) inDefaults(s lang.Span) bool {
	d := c.defaultsSpan
	return s.Start().Filename() == d.Start().Filename() && s.Start().Offset() >= d.Start().Offset() && s.Start().Offset() < d.End().Offset() && d.End().Offset() > 0
}

// checkTopicOptions checks the log, dead-letter and publish topics against
// the component's own topics.
func (c *compiler) checkTopicOptions(comp *Component, who string) {
	o := &comp.Options
	for _, key := range []string{"log", "dead_letter"} {
		t := o.Log
		if key == "dead_letter" {
			t = o.DeadLetter
		}
		switch {
		case t == nil:
			continue
		case slices.Contains(comp.Inputs, t), t == comp.Output:
			role := "an input"
			if t == comp.Output {
				role = "the output"
			}
			c.errorf(o.Set.At(key), "%s: the %s topic %s is also %s", who, key, t.Name, role).WithHint("use a topic of its own")
			// Dropped from the model, so that the graph shows no loop or
			// second writer that only this mistake makes.
			if key == "log" {
				o.Log = nil
			} else {
				o.DeadLetter = nil
			}
			continue
		}
		c.write(comp, t, o.Set.At(key))
		if key == "log" && t.Schema != nil && t.Schema.Kind != SchemaString {
			c.errorf(o.Set.At(key), "%s: the log topic %s has schema %s; log lines are strings", who, t.Name, t.Schema).WithHint("declare it: topic %s string", t.Name)
		}
	}
	for _, t := range o.Publishes {
		c.write(comp, t, o.Set.At("publishes"))
	}
}

// finishDefaults fills in what depends on other options: the subscription
// defaults to MESH-NAME, to failover when ordering or effectively-once
// needs it, to key_shared for state, and to shared otherwise, and to the
// latest position.
func (c *compiler) finishDefaults(comp *Component) {
	o := &comp.Options
	if comp.Kind == Source {
		o.Subscription = Subscription{}
		return
	}
	if o.Subscription.Name == "" {
		o.Subscription.Name = c.texts.join(c.mesh.Name, "-", comp.Name)
	}
	if o.Subscription.Type == "" {
		switch {
		case o.Guarantee == EffectivelyOnce || o.RetainOrdering:
			o.Subscription.Type = "failover"
		case o.State:
			// One instance at a time owns each key, and so its state.
			o.Subscription.Type = "key_shared"
		default:
			o.Subscription.Type = "shared"
		}
	}
	if o.Subscription.Position == "" {
		o.Subscription.Position = "latest"
	}
	if o.MaxReplicas > 0 {
		o.Replicas = o.MinReplicas
	}
}
