package compiler

import (
	"slices"

	"github.com/meshc/meshc/lang"
)

// MaxOperatorName is the longest resource name the Function Mesh
// operator's admission webhook accepts.
const MaxOperatorName = 43

// OperatorRules reports what the StreamNative Function Mesh operator's
// admission webhook would refuse in m, which its CRD schemas do not say,
// so that a mesh bound for the operator fails here, with positions, and
// not at kubectl apply with a bare 403. The checks every mesh gets (a
// timeout or retries with effectively_once, a dead-letter topic without
// retries) are not repeated.
func OperatorRules(m *Mesh) lang.Diagnostics {
	var ds lang.Diagnostics
	for _, c := range m.Components {
		ds = append(ds, operatorRules(m, c)...)
	}
	ds.Sort()
	return ds
}

func operatorRules(m *Mesh, c *Component) lang.Diagnostics {
	var ds lang.Diagnostics
	errorf := func(s lang.Span, format string, args ...any) *lang.Diagnostic {
		d := lang.Errorf(s.Start(), s.End(), format, args...)
		ds = append(ds, d)
		return d
	}
	// The operator names each member of a FunctionMesh MESH-NAME.
	if name := m.Name + "-" + c.Name; len(name) > MaxOperatorName {
		errorf(c.nameSpan, "%s %s: the Function Mesh operator refuses the resource name %s: %d characters, at most %d",
			c.Kind, c.Name, name, len(name), MaxOperatorName).WithHint(
			"shorten the %s's name or the mesh's: the operator names it after both, joined by a hyphen", c.Kind)
	}
	o := &c.Options
	if s, ok := o.Set.Get("dead_letter"); ok && o.DeadLetter != nil && o.MaxRetries <= 0 {
		errorf(s, "%s %s: the Function Mesh operator refuses a dead-letter topic without max_retries above 0", c.Kind, c.Name).WithHint(
			"add max_retries = N; meshc itself also dead-letters undecodable messages without retries, the operator does not")
	}
	if len(c.Inputs) > 0 && !slices.ContainsFunc(c.Inputs, func(t *Topic) bool { return t.Pattern == "" }) {
		// The operator builds a Go function's configuration from its
		// first input topic, and a topic pattern is not one.
		errorf(c.inputSpans[0], "%s %s: the Function Mesh operator starts a Go %s only with an input topic named outright, and this one reads a topic pattern alone",
			c.Kind, c.Name, c.Kind).WithHint("add a topic it reads by name, or emit with --flavour plain")
	}
	if c.Output != nil && slices.Contains(c.Inputs, c.Output) {
		errorf(c.outputSpan, "%s %s: the Function Mesh operator refuses a function whose output topic %s is also its input",
			c.Kind, c.Name, c.Output.Name).WithHint("write to a topic of its own, and route back with a second function if the loop is intended")
	}
	return ds
}
