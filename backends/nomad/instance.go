package nomad

import (
	"bytes"
	"fmt"
	"unsafe"

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
// Nomad. The plans are written one after another into large buffers, and
// each is a string of its part of a buffer, never written again: a
// string allocated for each plan of a large mesh cost more than writing
// it.
type instanceWriter struct {
	in      plan.Instance
	enc     plan.InstanceEncoder
	out     []byte
	left    int // plans still to write, to size the buffers
	written int // bytes of the plans written
	plans   int // plans written
	largest int // bytes of the largest plan so far
}

func newInstanceWriter(p *plan.Plan) *instanceWriter {
	return &instanceWriter{in: p.Instance(&plan.Component{}, 0), left: len(p.Components), largest: 4 << 10}
}

// index is how an instance plan with index 0 ends; the template puts
// Nomad's allocation index in its place.
const index = `"index": 0` + "\n}"

// plan is the instance plan of c as a template. The replica count is
// left out: a change of count must not change the instances that stay.
func (w *instanceWriter) plan(c *plan.Component) (string, error) {
	w.in.Component = *c
	w.in.Component.Replicas = plan.Replicas{}
	w.room()
	start := len(w.out)
	b, err := w.enc.Append(w.out, &w.in, true) // < > & escaped, so no delimiter can appear
	if err != nil {
		return "", fmt.Errorf("encoding the instance plan: %w", err)
	}
	if !bytes.HasSuffix(b[start:], []byte(index)) {
		return "", fmt.Errorf("the instance plan does not end in %q", index)
	}
	b = append(b[:len(b)-len("0\n}")], leftDelim+` env "NOMAD_ALLOC_INDEX" `+rightDelim+"\n}\n"...)
	w.out = b // a new buffer if the plan outgrew the last: the plans before stay in that
	n := len(b) - start
	w.left, w.written, w.plans, w.largest = w.left-1, w.written+n, w.plans+1, max(w.largest, n)
	return unsafe.String(&b[start], n), nil
}

// room starts a new buffer when the last may be too short for the next
// plan, sized for the plans still to write up to a limit: a buffer of all
// of a large mesh's plans grew the heap at once, which the runtime made
// up for by handing memory back to the system, to fault it in again.
func (w *instanceWriter) room() {
	need := 2 * w.largest
	if cap(w.out)-len(w.out) >= need {
		return
	}
	size := need
	if w.plans > 0 && w.left > 1 {
		size += w.written / w.plans * (w.left - 1) * 17 / 16
	}
	w.out = newBuffer(min(size, max(need, planBufferSize)))
}

// planBufferSize is the most a buffer of plans holds unless one plan
// needs more.
const planBufferSize = 1 << 20
