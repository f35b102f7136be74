package broker

import (
	"testing"

	"github.com/apache/pulsar-client-go/pulsar"
	"github.com/google/go-cmp/cmp"
)

func TestProduceConsume(t *testing.T) {
	n := 100_000
	if raceEnabled {
		n = 20_000 // the race detector slows the client and broker about tenfold
	}
	b := startBroker(t, Config{})
	c := newClient(t, b)
	for _, tc := range []struct {
		name    string
		batched bool
	}{{"batched", true}, {"unbatched", false}} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := testCtx(t)
			topic := uniqueTopic("produce")
			cons := mustSubscribe(t, c, pulsar.ConsumerOptions{Topic: topic, SubscriptionName: "s",
				SubscriptionInitialPosition: pulsar.SubscriptionPositionEarliest})
			p := mustProducer(t, c, pulsar.ProducerOptions{Topic: topic, DisableBatching: !tc.batched})
			sendAll(t, ctx, p, payloads("m", n))
			got := receive(t, ctx, cons, n)
			if diff := cmp.Diff(wantStrings("m", 0, n), got); diff != "" {
				t.Fatalf("messages differ (-want +got):\n%s", diff)
			}
			// Batches are stored whole: one entry per batch, not per message.
			entries := b.existingTopic(topic).length()
			if tc.batched && entries > uint64(n/10) || !tc.batched && entries != uint64(n) {
				t.Fatalf("%d messages stored as %d entries", n, entries)
			}
		})
	}
}
