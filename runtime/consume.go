package runtime

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"runtime/debug"
	"sync"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"
	"github.com/meshc/meshc/planner/plan"
	"github.com/meshc/meshc/runtime/codec"
)

// consume runs a function or sink: it receives each message, calls f, and
// settles the message by the component's guarantee once every send that f
// caused is confirmed. Functions run one message at a time, in order;
// sends overlap.
func (in *instance) consume(ctx context.Context, f Func) error {
	if in.comp.Guarantee == plan.EffectivelyOnce {
		return in.consumeOnce(ctx, f)
	}
	consumer, err := in.subscribe()
	if err != nil {
		return err
	}
	defer consumer.Close()
	in.taking.Store(true)
	var inflight sync.WaitGroup
	taken, h := newEntries(), held{}
	recv, stopAhead := in.readAhead(consumer)
	defer stopAhead()
	for {
		msg, err := recv.Receive(ctx)
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			return fmt.Errorf("%s: receiving: %w", in.comp.Name, err)
		}
		taken.take(msg)
		in.take(ctx, consumer, f, msg, &inflight, h)
	}
	in.finishEntries(ctx, recv, taken, func(ctx context.Context, msg pulsar.Message) {
		in.take(ctx, consumer, f, msg, &inflight, h)
	})
	stopAhead()
	in.waitGrace(&inflight) // in-flight messages are acknowledged or handed back before the consumer closes
	return nil
}

func (in *instance) subscribe() (pulsar.Consumer, error) {
	c := in.comp
	opts, err := ConsumerOptions(c)
	if err != nil {
		return nil, err
	}
	opts.NackRedeliveryDelay = time.Second
	// At most once means the acknowledgement is stored before the function
	// runs: a crash after it loses the message rather than redelivers it.
	opts.AckWithResponse = c.Guarantee == plan.AtMostOnce
	consumer, err := in.client.Subscribe(opts)
	if err != nil {
		return nil, fmt.Errorf("%s: subscribing to %v as %q: %w", c.Name, inputNames(c.Inputs), c.Subscription.Name, err)
	}
	return consumer, nil
}

// ConsumerOptions are the subscription of a function or sink to its
// inputs as its plan says: for tools that make the subscription before
// the instances run, so that none misses a message.
func ConsumerOptions(c *plan.Component) (pulsar.ConsumerOptions, error) {
	opts := pulsar.ConsumerOptions{
		SubscriptionName:            c.Subscription.Name,
		Type:                        subscriptionType(c.Subscription.Type),
		SubscriptionInitialPosition: pulsar.SubscriptionPositionLatest,
	}
	if c.Subscription.Position == "earliest" {
		opts.SubscriptionInitialPosition = pulsar.SubscriptionPositionEarliest
	}
	for _, i := range c.Inputs {
		if i.Pattern {
			opts.TopicsPattern = i.Topic
		} else {
			opts.Topics = append(opts.Topics, i.Topic)
		}
	}
	if opts.TopicsPattern != "" && len(opts.Topics) > 0 {
		return opts, fmt.Errorf("%s: reading a topic pattern together with named topics is not supported: use two functions", c.Name)
	}
	return opts, nil
}

func subscriptionType(t string) pulsar.SubscriptionType {
	switch t {
	case "exclusive":
		return pulsar.Exclusive
	case "failover":
		return pulsar.Failover
	case "key_shared":
		return pulsar.KeyShared
	}
	return pulsar.Shared
}

func inputNames(inputs []plan.Input) []string {
	names := make([]string, len(inputs))
	for i, in := range inputs {
		names[i] = in.Topic
	}
	return names
}

// handle processes one message; inflight is done with it when it is
// settled.
func (in *instance) handle(ctx context.Context, consumer pulsar.Consumer, f Func, msg pulsar.Message, inflight *sync.WaitGroup) {
	in.metrics.received.Add(1)
	mctx := reusedContext()
	mctx.in, mctx.msg, mctx.consumer, mctx.inflight = in, msg, consumer, inflight
	mctx.start = in.metrics.clock()
	track := &mctx.own
	track.to = mctx
	value, err := in.decode(msg)
	if err != nil {
		track.seal(err)
		return
	}
	fctx, cancel := in.deadline(ctx)
	defer cancel()
	mctx.Context, mctx.track, mctx.ticket = fctx, track, in.ticketOf(msg)
	err = call(f, mctx, Input{Payload: msg.Payload(), Value: value, ahead: started(msg)}, mctx.emitFn)
	track.seal(err)
}

// settled settles a message once its function and sends are done.
func (c *msgContext) settled(err error) {
	c.in.metrics.observe(c.start)
	atMostOnce := c.in.comp.Guarantee == plan.AtMostOnce // acknowledged by take
	c.in.settle(c.consumer, c.msg, err, atMostOnce, c.inflight)
	c.release()
}

// call runs a user function; a panic in it is an error like any other.
func call(f Func, ctx Context, in Input, emit Emit) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("function panicked: %v\n%s", r, debug.Stack())
		}
	}()
	return f(ctx, in, emit)
}

func (in *instance) deadline(ctx context.Context) (context.Context, context.CancelFunc) {
	if t := time.Duration(in.comp.Timeout); t > 0 {
		return context.WithTimeout(ctx, t)
	}
	return ctx, func() {} // a cancellable context a message costs a lock and an allocation
}

var partitionSuffix = regexp.MustCompile(`-partition-[0-9]+$`)

// codecFor finds the codec of the topic a message came from.
func (in *instance) codecFor(topic string) *codec.Codec {
	if in.onlyInput != nil {
		return in.onlyInput
	}
	if c, ok := in.inputs[topic]; ok {
		return c
	}
	if c, ok := in.inputs[partitionSuffix.ReplaceAllString(topic, "")]; ok {
		return c
	}
	for _, p := range in.patterns {
		if p.re.MatchString(topic) {
			return p.codec
		}
	}
	for _, c := range in.inputs {
		return c // a single input named differently by the broker
	}
	return in.patterns[0].codec
}

// settle acknowledges a processed message; a failed one is retried, or
// dead-lettered when retrying cannot help or its retries are used up.
func (in *instance) settle(consumer pulsar.Consumer, msg pulsar.Message, err error, acked bool, inflight *sync.WaitGroup) {
	if err == nil {
		in.metrics.processed.Add(1)
		if !acked {
			consumer.Ack(msg)
		}
		inflight.Done()
		return
	}
	in.countFailure(err)
	switch {
	case acked || permanent(err) || int(msg.RedeliveryCount()) >= in.comp.MaxRetries:
		in.quiet.log(in.log, slog.LevelWarn, "dead-lettering message", "id", msg.ID().String(), "topic", msg.Topic(), "error", err)
		// Not here: settle may run in a send's callback, where opening the
		// dead-letter producer would wait on the client that runs it.
		in.deadLetters.do(func() { in.deadLetter(consumer, msg, err, acked, inflight) })
	default:
		in.quiet.log(in.log, slog.LevelInfo, "message failed, will retry", "id", msg.ID().String(), "redeliveries", msg.RedeliveryCount(), "error", err)
		consumer.Nack(msg)
		inflight.Done()
	}
}

var errSend = errors.New("send failed")
