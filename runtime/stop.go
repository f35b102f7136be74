package runtime

import (
	"context"
	"sync"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"
)

// DefaultGracePeriod is how long a stopping instance waits for the
// messages in flight to settle: under the 30 s that Kubernetes and the
// Nomad backend give a program between SIGTERM and SIGKILL.
const DefaultGracePeriod = 25 * time.Second

// waitGrace waits for the messages in flight to settle, for the grace
// period at most; those still unsettled then are not acknowledged, so they
// come again.
func (in *instance) waitGrace(inflight *sync.WaitGroup) {
	settled := make(chan struct{})
	go func() { inflight.Wait(); close(settled) }()
	grace := in.grace
	if grace <= 0 {
		grace = DefaultGracePeriod
	}
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-settled:
	case <-t.C:
		in.log.Warn("grace period over with messages in flight; they will be delivered again", "grace", grace)
	}
}

// entries follows, per input partition, whether the last message taken
// ends its entry (a batch, or an unbatched message). Pulsar acknowledges
// an entry only whole, so a stop in the middle of a batch would have the
// whole batch delivered again, the part already processed included.
type entries map[string]bool // partition topic -> in the middle of an entry

func (e entries) take(msg pulsar.Message) { e[msg.Topic()] = !endsEntry(msg.ID()) }

func (e entries) open() bool {
	for _, mid := range e {
		if mid {
			return true
		}
	}
	return false
}

// finishEntries takes, after a stop, the rest of the entries begun, which
// the consumer already holds, so that they are acknowledged whole; other
// messages are left to be delivered again. It gives up at the grace
// period. handle runs each message with a context not yet cancelled.
func (in *instance) finishEntries(ctx context.Context, consumer receiver, taken entries, handle func(context.Context, pulsar.Message)) {
	if !taken.open() {
		return
	}
	grace := in.grace
	if grace <= 0 {
		grace = DefaultGracePeriod
	}
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), grace)
	defer cancel()
	for taken.open() {
		rctx, stop := context.WithTimeout(dctx, time.Second)
		msg, err := consumer.Receive(rctx)
		stop()
		if err != nil {
			return
		}
		if taken[msg.Topic()] {
			taken.take(msg)
			handle(dctx, msg)
		}
	}
}
