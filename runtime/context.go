package runtime

import (
	"context"
	"encoding/binary"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"
)

// tracker counts the sends a message waits for; to is told once, when the
// message's function has returned and every send it caused is settled.
// The count is one atomic word, not a mutex: a message's sends begin on
// the goroutine of its function and end on the client's, and a lock
// taken three times a message by both cost more than the message's
// own handling.
type tracker struct {
	// state is the number of sends not settled, plus trackerSealed once
	// the function has returned: whoever brings it to trackerSealed alone
	// settles the message.
	state atomic.Int64
	err   atomic.Pointer[error] // the first failure; set only when one happens
	to    settler
}

// trackerSealed marks a tracker's state sealed: far above any count of
// sends.
const trackerSealed = 1 << 62

// settler is told that a message's function and sends are done: a
// message's own type, rather than a closure, saves an allocation a message.
type settler interface{ settled(err error) }

func (t *tracker) add() func(error) {
	t.begin()
	return t.end
}

// begin counts a send; end settles it. Sends begin only before seal, in
// the function.
func (t *tracker) begin() { t.state.Add(1) }

func (t *tracker) end(err error) {
	t.fail(err)
	if t.state.Add(-1) == trackerSealed {
		t.settle()
	}
}

// seal says no more sends will be added; fail records the function's error.
func (t *tracker) seal(fail error) {
	t.fail(fail)
	if t.state.Add(trackerSealed) == trackerSealed {
		t.settle()
	}
}

// fail keeps the first error; it comes before the state change that
// follows it, so that the settling one sees it.
func (t *tracker) fail(err error) {
	if err != nil {
		t.failed(err)
	}
}

// failed is fail's own function: its error is moved to the heap, which
// fail's would be on every call, failure or not.
func (t *tracker) failed(err error) { t.err.CompareAndSwap(nil, &err) }

// settle tells to, once: only the caller that brought the state to
// trackerSealed runs it.
func (t *tracker) settle() {
	var err error
	if e := t.err.Load(); e != nil {
		err = *e
	}
	t.to.settled(err)
}

// msgContext is the Context of one message.
type msgContext struct {
	context.Context
	in     *instance
	msg    pulsar.Message
	track  *tracker
	own    tracker     // track, when the message's context is made with it: one allocation less
	once   *onceSender // under effectively_once
	ticket uint64      // orders the message's state reads (see freshness)

	// How a message not under effectively_once is settled (see handle).
	consumer pulsar.Consumer
	start    time.Duration // on the metrics' clock
	inflight *sync.WaitGroup
	// first is the message's first output, made with it: one allocation
	// less for the usual function of one output.
	first     outgoing
	sentFirst bool
	// emitFn is emit as a function value, made once for a context that
	// is reused (see msgContexts) rather than once a message.
	emitFn Emit
}

// msgContexts holds the contexts of settled messages for the next ones: a
// message's context, its emit and its first output's callback are then
// made once, not three allocations a message. A context is released only
// once its function has returned and every send and state change it
// caused is settled, when nothing of the runtime or the client holds it;
// a function must not keep its Context or its emit past its return (see
// Context).
var msgContexts = sync.Pool{New: func() any {
	c := &msgContext{}
	c.emitFn = c.emit
	c.first.sentFn = c.first.sent
	return c
}}

// reusedContext is a context from msgContexts, empty but for what it
// keeps.
func reusedContext() *msgContext { return msgContexts.Get().(*msgContext) }

// release empties c, keeping its function values, and hands it back to
// msgContexts.
func (c *msgContext) release() {
	emit, sent := c.emitFn, c.first.sentFn
	*c = msgContext{emitFn: emit}
	c.first.sentFn = sent
	msgContexts.Put(c)
}

func (c *msgContext) InputTopic() string             { return c.msg.Topic() }
func (c *msgContext) MessageID() string              { return c.msg.ID().String() }
func (c *msgContext) Key() string                    { return c.msg.Key() }
func (c *msgContext) Properties() map[string]string  { return c.msg.Properties() }
func (c *msgContext) EventTime() time.Time           { return c.msg.EventTime() }
func (c *msgContext) Name() string                   { return c.in.comp.Name }
func (c *msgContext) Tenant() string                 { return c.in.plan.Mesh.Tenant }
func (c *msgContext) Namespace() string              { return c.in.plan.Mesh.Namespace }
func (c *msgContext) InstanceIndex() int             { return c.in.plan.Index }
func (c *msgContext) UserConfig() map[string]any     { return c.in.config }
func (c *msgContext) Secret(n string) (string, bool) { return c.in.secret(n) }
func (c *msgContext) Logger() *slog.Logger           { return c.in.fnLog }
func (c *msgContext) RecordMetric(n string, v float64) {
	c.in.metrics.record(n, v)
}

func (c *msgContext) stateOrErr() (*stateStore, error) {
	if c.in.state == nil {
		return nil, fmt.Errorf("function %s has no state: set state = true in the mesh", c.in.comp.Name)
	}
	return c.in.state, nil
}

func (c *msgContext) IncrCounter(key string, by int64) (int64, error) {
	s, err := c.stateOrErr()
	if err != nil {
		return 0, err
	}
	v, ok, err := s.read(c, "c/"+key, c.ticket)
	if err != nil {
		return 0, err
	}
	n := counter(v, ok) + by
	applied, err := c.putState(s, "c/"+key, binary.BigEndian.AppendUint64(nil, uint64(n)))
	if !applied {
		return counter(v, ok), err // stored before a crash: what was read holds it
	}
	return n, err
}

func (c *msgContext) GetCounter(key string) (int64, error) {
	s, err := c.stateOrErr()
	if err != nil {
		return 0, err
	}
	v, ok, err := s.read(c, "c/"+key, c.ticket)
	return counter(v, ok), err
}

func (c *msgContext) PutState(key string, value []byte) error {
	s, err := c.stateOrErr()
	if err != nil {
		return err
	}
	if len(value) == 0 {
		return fmt.Errorf("state values may not be empty: use DeleteState to remove %q", key)
	}
	_, err = c.putState(s, "s/"+key, value)
	return err
}

func (c *msgContext) GetState(key string) ([]byte, bool, error) {
	s, err := c.stateOrErr()
	if err != nil {
		return nil, false, err
	}
	return s.read(c, "s/"+key, c.ticket)
}

func (c *msgContext) DeleteState(key string) error {
	s, err := c.stateOrErr()
	if err != nil {
		return err
	}
	_, err = c.putState(s, "s/"+key, nil)
	return err
}

// putState changes a key of the state as an effect of this message. Under
// effectively_once a change that was stored before a crash is not applied
// again: applied says whether it was.
func (c *msgContext) putState(s *stateStore, key string, value []byte) (applied bool, err error) {
	if c.once != nil {
		return c.once.putState(s, key, value, c.track.add())
	}
	s.put(c, key, value, c.track.add())
	return true, nil
}

// Publish sends value to one of the topics the mesh lets the function
// publish to, named by its mesh name or its full name.
func (c *msgContext) Publish(topic string, value any) error {
	for _, t := range c.in.publish {
		if t.fqn == topic || strings.HasSuffix(t.fqn, "/"+topic) {
			return c.send(t, c.msg.Key(), value)
		}
	}
	return fmt.Errorf("function %s may not publish to %q: list it in publishes", c.in.comp.Name, topic)
}

// emit sends a value the function emits to its output topic.
func (c *msgContext) emit(value any) error {
	if c.in.output == nil {
		return fmt.Errorf("%s has no output topic to emit to", c.in.comp.Name)
	}
	return c.send(c.in.output, c.msg.Key(), value)
}

// send encodes value for t and sends it as an output of this message,
// keyed as the message is unless value is Keyed.
func (c *msgContext) send(t *target, key string, value any) error {
	if k, ok := value.(Keyed); ok {
		key, value = k.Key, k.Value
	}
	if c.once != nil {
		return c.once.send(t, &pulsar.ProducerMessage{Key: key, Properties: c.traced()}, value, c.track.add())
	}
	o := &c.first
	if c.sentFirst {
		o = &outgoing{}
	}
	c.sentFirst = true
	o.Key, o.Properties = key, c.traced()
	return c.in.send(t, o, value, c.track)
}

// TraceProperty, set on an input message, is carried by every output the
// message causes, so that a tool that sends a message (meshc trigger)
// finds what came of it whatever the function keys its outputs by.
const TraceProperty = "meshc-trace"

// traced are the properties an output carries from its input.
func (c *msgContext) traced() map[string]string {
	if v, ok := c.msg.Properties()[TraceProperty]; ok {
		return map[string]string{TraceProperty: v}
	}
	return nil
}
