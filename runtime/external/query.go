package external

import (
	"fmt"

	"github.com/meshc/meshc/runtime/external/frame"
)

// A child reads state while it handles a call: it writes a query with the
// call's id and waits for the answer. A stateful function's calls are made
// one at a time, each in its message's turn (see runtime's reading ahead),
// so the state a query reads holds the changes of every message before.

// answer answers one query of call (nil when no call of the query's id is
// in flight).
func (c *conn) answer(call *inflight, q *frame.Frame) {
	a := &frame.Frame{Kind: frame.Answer, ID: q.ID, Fields: lookup(call, q)}
	if err := c.write(a); err != nil {
		c.fail(fmt.Errorf("writing to its standard input: %w", err))
	}
}

// lookup reads what a query asks for, and returns the answer's fields.
// Fields of tags it does not know are skipped.
func lookup(call *inflight, q *frame.Frame) []frame.Field {
	if call == nil {
		return failed("no call %d is in flight: a query carries the id of the call it is made for", q.ID)
	}
	for _, f := range q.Fields {
		key := string(f.Value)
		switch f.Tag {
		case frame.GetState:
			v, ok, err := call.msg.GetState(key)
			switch {
			case err != nil:
				return failed("%v", err)
			case !ok:
				return nil
			}
			return []frame.Field{{Tag: frame.Value, Value: v}}
		case frame.GetCounter:
			n, err := call.msg.GetCounter(key)
			if err != nil {
				return failed("%v", err)
			}
			return []frame.Field{{Tag: frame.Counter, Value: frame.IntValue(n)}}
		}
	}
	return failed("a query holds a get_state or a get_counter field, and this one has neither")
}

func failed(format string, args ...any) []frame.Field {
	return []frame.Field{{Tag: frame.Error, Value: fmt.Appendf(nil, format, args...)}}
}
