package nomad

import (
	"bytes"
	"fmt"

	"github.com/meshc/meshc/planner/plan"
)

// Template delimiters. The instance plan is JSON with HTML characters
// escaped, so it never holds them and needs no escaping of its own.
const (
	leftDelim  = "<<"
	rightDelim = ">>"
)

// instanceWriter writes the instance plans of a plan's components as
// json.MarshalIndent writes an Instance, with the replica index left to
// Nomad. One buffer serves every component.
type instanceWriter struct {
	in  plan.Instance
	out []byte
}

func newInstanceWriter(p *plan.Plan) *instanceWriter {
	return &instanceWriter{in: p.Instance(&plan.Component{}, 0)}
}

// index is how an instance plan with index 0 ends; the template puts
// Nomad's allocation index in its place.
const index = `"index": 0` + "\n}"

// plan is the instance plan of c as a template. The replica count is
// left out: a change of count must not change the instances that stay.
func (w *instanceWriter) plan(c *plan.Component) (string, error) {
	w.in.Component = *c
	w.in.Component.Replicas = plan.Replicas{}
	b, err := plan.AppendInstance(w.out[:0], &w.in, true) // < > & escaped, so no delimiter can appear
	if err != nil {
		return "", fmt.Errorf("encoding the instance plan: %w", err)
	}
	if !bytes.HasSuffix(b, []byte(index)) {
		return "", fmt.Errorf("the instance plan does not end in %q", index)
	}
	b = append(b[:len(b)-len("0\n}")], leftDelim+` env "NOMAD_ALLOC_INDEX" `+rightDelim+"\n}\n"...)
	w.out = b
	return string(b), nil
}
