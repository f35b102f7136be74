package compiler

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/meshc/meshc/lang"
)

// resolveTypes resolves every declared type, used or not, so that errors in
// unused types are reported too.
func (c *compiler) resolveTypes() {
	for _, d := range c.typeOrder {
		if d.Type.Optional {
			c.errorf(d.Type.Span, "a declared type cannot be optional").WithHint("mark the fields that use it with ? instead")
		}
		if t := c.types.declared(d.Name.Name); t != nil {
			c.mesh.Types = append(c.mesh.Types, t)
		}
	}
}

var topicKeys = []string{"partitions", "pattern", "name", "feedback"}

// resolveTopics reads the topic declarations, their full names and
// patterns, and reports full names that collide.
func (c *compiler) resolveTopics() {
	m := c.mesh
	m.Topics = slices.Grow(m.Topics, len(c.topicDecls))
	for i, d := range c.topicDecls {
		t := &c.topicBlock[i]
		c.topic(t, d)
		m.Topics = append(m.Topics, t)
	}
	if c.renamedTopics {
		c.checkFullNames()
	}
	for _, t := range m.Topics {
		if t.Pattern == "" {
			continue
		}
		re, err := regexp.Compile("^(?:" + t.Pattern + ")$")
		if err != nil {
			continue // reported in topic
		}
		for _, o := range m.Topics {
			if o.Pattern == "" && re.MatchString(o.FullName) {
				t.Matches = append(t.Matches, o)
			}
		}
	}
}

// checkFullNames reports topics whose full names collide, which only a
// topic's name option can make: the others' are their distinct names
// under one tenant and namespace.
func (c *compiler) checkFullNames() {
	// Sized once: a mesh may declare many thousands of topics.
	byFull := make(map[string]*Topic, len(c.mesh.Topics))
	for _, t := range c.mesh.Topics {
		if t.Pattern != "" {
			continue
		}
		if first, dup := byFull[t.FullName]; dup {
			diag := c.errorf(t.nameSpan, "topics %s and %s are both %s", first.Name, t.Name, t.FullName).WithHint("give one of them another name, or use one topic")
			diag.Related = append(diag.Related, lang.Related{Pos: first.nameSpan.Start(), End: first.nameSpan.End(), Message: first.Name + " is declared here"})
			continue
		}
		byFull[t.FullName] = t
	}
}

// topic reads declaration d into t.
func (c *compiler) topic(t *Topic, d *lang.Topic) {
	m := c.mesh
	*t = Topic{Name: d.Name.Name, Span: d.Span, nameSpan: d.Name.Span}
	t.FullName = c.texts.join("persistent://", m.Tenant, "/", m.Namespace, "/", t.Name)
	t.Schema = c.types.schema(d.Schema)
	for _, f := range d.Flags {
		switch f.Name {
		case "external":
			if t.External {
				c.errorf(f.Span, "topic flag external is given twice").WithHint("remove one of them")
			}
			t.External = true
		default:
			diag := c.errorf(f.Span, "unknown topic flag %s", f.Name)
			c.suggest(diag, f.Name, []string{"external"})
			if diag.Hint == "" {
				diag.Hint = "the only flag is external; options go in { ... }"
			}
		}
	}
	if strings.Contains(t.Name, "-partition-") {
		c.errorf(d.Name.Span, "topic name %s contains -partition-, which Pulsar keeps for the partitions of partitioned topics", t.Name).WithHint("rename the topic")
	}
	if d.Body == nil {
		return // most topics: no options, and no name for messages to build
	}
	for _, a := range c.attrs(d.Body, "topic "+t.Name, topicKeys) {
		switch a.Key().Name {
		case "partitions":
			t.Partitions, _ = c.intValue(a, 0)
		case "feedback":
			t.Feedback, _ = c.boolValue(a)
		case "name":
			if s, ok := c.stringValue(a); ok {
				t.FullName = c.fullName(a, s)
				c.renamedTopics = true
			}
		case "pattern":
			if s, ok := c.stringValue(a); ok {
				if _, err := regexp.Compile(s); err != nil {
					c.errorf(a.Value().Span, "invalid pattern: %v", err).WithHint("pattern is a Go regular expression over full topic names")
				} else {
					t.Pattern, t.External = s, true
				}
			}
		}
	}
}

// fullName checks a name option: a full Pulsar topic name, or a bare local
// name that the mesh's tenant and namespace qualify.
func (c *compiler) fullName(a *lang.Attr, s string) string {
	m := c.mesh
	if !strings.Contains(s, "://") {
		if p := checkPulsarName(s); p != "" {
			c.errorf(a.Value().Span, "invalid topic name: %s", p)
		}
		return fmt.Sprintf("persistent://%s/%s/%s", m.Tenant, m.Namespace, s)
	}
	if _, _, _, p := splitFullName(s); p != "" {
		c.errorf(a.Value().Span, "invalid topic name %q: %s", s, p).WithHint("write persistent://TENANT/NAMESPACE/TOPIC")
	}
	return s
}
