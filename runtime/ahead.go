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
// must see what the messages before it changed.

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
	value any
	call  *external.Pending
}

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
	if in.starter == nil || in.comp.Guarantee == plan.AtMostOnce {
		return c, func() {}
	}
	ctx, cancel := context.WithCancel(context.Background())
	a := &readAhead{msgs: make(chan received, in.starter.Window())}
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

// startAhead starts the call for a message its input schema accepts; the
// loop dead-letters the others as usual.
func (in *instance) startAhead(ctx context.Context, msg pulsar.Message) pulsar.Message {
	value, err := in.codecFor(msg.Topic()).Decode(msg.Payload())
	if err != nil {
		return msg
	}
	mctx := &msgContext{Context: ctx, in: in, msg: msg} // stopping reading ahead cancels the calls not taken
	return &aheadMessage{Message: msg, value: value, call: in.starter.Start(mctx, msg.Payload())}
}

// decode decodes a message by its topic's schema, once.
func (in *instance) decode(msg pulsar.Message) (any, error) {
	if m, ok := msg.(*aheadMessage); ok {
		return m.value, nil
	}
	return in.codecFor(msg.Topic()).Decode(msg.Payload())
}

func (a *readAhead) Receive(ctx context.Context) (pulsar.Message, error) {
	select {
	case r := <-a.msgs:
		return r.msg, r.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}
