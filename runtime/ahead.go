package runtime

import (
	"context"

	"github.com/apache/pulsar-client-go/pulsar"
	"github.com/meshc/meshc/planner/plan"
	"github.com/meshc/meshc/runtime/external"
)

// A foreign function (a child process or a WebAssembly module) answers
// over a pipe, so one call at a time leaves it idle while the runtime
// sends the outputs and acknowledges. Reading ahead receives messages
// before the loop asks for them and starts their calls at once, up to the
// child's window; the loop still settles messages one by one, in order,
// taking each call's result when the message's turn comes. Only the first
// try of a message is started ahead; retries call as usual. A function with
// state gets no calls ahead (see startForeign): a call may read state, and
// must see what the messages before it changed. A function whose state
// other instances write also reads ahead, to take each message's state
// ticket (see freshness) as it is received rather than at its turn.

// receiver is where a loop takes its messages from.
type receiver interface {
	Receive(context.Context) (pulsar.Message, error)
}

// starter starts calls ahead of their turn.
type starter interface {
	Start(ctx external.Context, payload []byte) *external.Pending
	Window() int
}

// aheadMessage is a message decoded, and whose call has started.
type aheadMessage struct {
	pulsar.Message
	value  any
	call   *external.Pending
	ticket uint64
}

// stateReadAhead is how many messages a function whose state other
// instances write reads ahead: the client's receiver queue.
const stateReadAhead = 1000

// started returns the call started for a message, if any.
func started(msg pulsar.Message) *external.Pending {
	if m, ok := msg.(*aheadMessage); ok {
		return m.call
	}
	return nil
}

type received struct {
	msg pulsar.Message
	err error
}

type readAhead struct {
	msgs chan received
}

// readAhead returns the receiver a loop takes its messages from, and stop,
// which ends reading ahead: messages read ahead and not taken yet are left
// unacknowledged, so they come again. At most once reads nothing ahead: a
// call must not begin before its message is acknowledged.
func (in *instance) readAhead(c pulsar.Consumer) (r receiver, stop func()) {
	shared := in.state != nil && in.state.shared
	if in.starter == nil && !shared || in.comp.Guarantee == plan.AtMostOnce {
		return c, func() {}
	}
	window := stateReadAhead
	if in.starter != nil {
		window = in.starter.Window()
	}
	ctx, cancel := context.WithCancel(context.Background())
	a := &readAhead{msgs: make(chan received, window)}
	go a.run(ctx, in, c)
	return a, cancel
}

func (a *readAhead) run(ctx context.Context, in *instance, c pulsar.Consumer) {
	for {
		msg, err := c.Receive(ctx)
		if err == nil {
			msg = in.startAhead(ctx, msg)
		}
		select {
		case a.msgs <- received{msg, err}:
		case <-ctx.Done():
			return
		}
		if err != nil {
			return
		}
	}
}

// startAhead takes a message's state ticket, and starts the call for a
// message its input schema accepts; the loop dead-letters the others as
// usual.
func (in *instance) startAhead(ctx context.Context, msg pulsar.Message) pulsar.Message {
	ticket := in.state.ticket()
	value, err := in.decodePayload(msg)
	if err != nil {
		if ticket == 0 {
			return msg
		}
		return &aheadMessage{Message: msg, ticket: ticket, value: errValue{err}}
	}
	m := &aheadMessage{Message: msg, value: value, ticket: ticket}
	if in.starter != nil {
		mctx := &msgContext{Context: ctx, in: in, msg: msg} // stopping reading ahead cancels the calls not taken
		m.call = in.starter.Start(mctx, msg.Payload())
	}
	return m
}

// errValue is a payload that did not decode ahead: decode returns its error.
type errValue struct{ err error }

// ticketOf is a message's state ticket: taken when it was read ahead, or
// now.
func (in *instance) ticketOf(msg pulsar.Message) uint64 {
	if m, ok := msg.(*aheadMessage); ok && m.ticket > 0 {
		return m.ticket
	}
	return in.state.ticket()
}

// decode decodes a message by its topic's schema, once.
func (in *instance) decode(msg pulsar.Message) (any, error) {
	if m, ok := msg.(*aheadMessage); ok {
		if e, bad := m.value.(errValue); bad {
			return nil, e.err
		}
		return m.value, nil
	}
	return in.decodePayload(msg)
}

// decodePayload decodes a message by its topic's schema: for a function
// that borrows its input (see Registry.borrowing), a string is the
// message's own bytes.
func (in *instance) decodePayload(msg pulsar.Message) (any, error) {
	cd := in.codecFor(msg.Topic())
	if in.borrowInput {
		return cd.DecodeShared(msg.Payload())
	}
	return cd.Decode(msg.Payload())
}

func (a *readAhead) Receive(ctx context.Context) (pulsar.Message, error) {
	select {
	case r := <-a.msgs:
		return r.msg, r.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}
