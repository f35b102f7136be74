package runtime

import (
	"context"
	"sync"

	"github.com/apache/pulsar-client-go/pulsar"
	"github.com/meshc/meshc/planner/plan"
)

// held keeps, under at_most_once, the messages of each partition's batch
// until its last one has come. Pulsar acknowledges a batch only whole, so a
// function that ran on a batch's first messages before the batch was
// acknowledged would run on them again after a crash.
type held map[string][]pulsar.Message

// take hands a received message on to handle. Under at_most_once it first
// acknowledges it, waiting for the broker: a batch's messages are held and
// handed on together once the acknowledgement of the whole batch is
// stored. A message whose acknowledgement fails is not processed: it comes
// again.
func (in *instance) take(ctx context.Context, consumer pulsar.Consumer, f Func, msg pulsar.Message, inflight *sync.WaitGroup, h held) {
	if in.comp.Guarantee != plan.AtMostOnce {
		inflight.Add(1)
		in.handle(ctx, consumer, f, msg, inflight)
		return
	}
	topic := msg.Topic()
	if !endsEntry(msg.ID()) {
		consumer.Ack(msg) // inside a batch this only marks it: the batch goes with its last message
		h[topic] = append(h[topic], msg)
		return
	}
	batch := append(h[topic], msg)
	delete(h, topic)
	if err := consumer.Ack(msg); err != nil {
		in.log.Warn("acknowledgement failed; the messages will be redelivered", "id", msg.ID().String(), "messages", len(batch), "error", err)
		return
	}
	for _, m := range batch {
		inflight.Add(1)
		in.handle(ctx, consumer, f, m, inflight)
	}
}
