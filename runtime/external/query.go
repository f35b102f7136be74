package external

import (
	"fmt"

	"github.com/meshc/meshc/runtime/external/frame"
)

// A child reads state while it handles a call: it writes a query with the
// call's id and waits for the answer. The answer waits for the message's
// turn, when the results of every earlier message are applied, so that a
// call started ahead reads what the messages before it wrote.

// answer answers one query of call (nil when no call of the query's id is
// in flight).
func (c *conn) answer(call *inflight, q *frame.Frame) {
	a := &frame.Frame{Kind: frame.Answer, ID: q.ID, Fields: lookup(call, q)}
	if err := c.write(a); err != nil {
		c.fail(fmt.Errorf("writing to its standard input: %w", err))
	}
}

// lookup reads what a query asks for, and returns the answer's fields.
func lookup(call *inflight, q *frame.Frame) []frame.Field {
	if call == nil {
		return failed("no call %d is in flight: a query carries the id of the call it is made for", q.ID)
	}
	if len(q.Fields) != 1 {
		return failed("a query asks for one key, not %d", len(q.Fields))
	}
	select {
	case <-call.turn:
	case <-call.limit.Done():
		return failed("the call ended before its message's turn came: %v", call.limit.Err())
	}
	key := string(q.Fields[0].Value)
	switch q.Fields[0].Tag {
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
	return failed("unknown query (tag %d): a query holds get_state or get_counter", q.Fields[0].Tag)
}

func failed(format string, args ...any) []frame.Field {
	return []frame.Field{{Tag: frame.Error, Value: fmt.Appendf(nil, format, args...)}}
}
