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

// gracePeriod is how long a stopping instance waits for the messages in
// flight.
func (in *instance) gracePeriod() time.Duration {
	if in.grace <= 0 {
		return DefaultGracePeriod
	}
	return in.grace
}

// waitGrace waits for the messages in flight to settle, for the grace
// period at most; those still unsettled then are not acknowledged, so they
// come again.
func (in *instance) waitGrace(inflight *sync.WaitGroup) {
	settled := make(chan struct{})
	go func() { inflight.Wait(); close(settled) }()
	grace := in.gracePeriod()
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
type entries struct {
	mid map[string]bool // partition topic -> in the middle of an entry
	// last and lastMid are the last message's: most messages come from
	// the topic of the one before, and then the map need not change.
	last    string
	lastMid bool
}

func newEntries() *entries { return &entries{mid: map[string]bool{}} }

func (e *entries) take(msg pulsar.Message) {
	topic, mid := msg.Topic(), !endsEntry(msg.ID())
	if topic == e.last && mid == e.lastMid {
		return
	}
	e.last, e.lastMid, e.mid[topic] = topic, mid, mid
}

func (e *entries) open() bool {
	for _, mid := range e.mid {
		if mid {
			return true
		}
	}
	return false
}

// in tells whether the message's entry is one being finished.
func (e *entries) in(msg pulsar.Message) bool { return e.mid[msg.Topic()] }

// finishEntries takes, after a stop, the rest of the entries begun, which
// the consumer already holds, so that they are acknowledged whole; other
// messages are left to be delivered again. It gives up at the grace
// period. handle runs each message with a context not yet cancelled.
func (in *instance) finishEntries(ctx context.Context, consumer receiver, taken *entries, handle func(context.Context, pulsar.Message)) {
	if !taken.open() {
		return
	}
	grace := in.gracePeriod()
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), grace)
	defer cancel()
	for taken.open() {
		rctx, stop := context.WithTimeout(dctx, time.Second)
		msg, err := consumer.Receive(rctx)
		stop()
		if err != nil {
			return
		}
		if taken.in(msg) {
			taken.take(msg)
			handle(dctx, msg)
		}
	}
}
