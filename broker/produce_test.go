package broker

import (
	"testing"

	"github.com/apache/pulsar-client-go/pulsar"
	"github.com/google/go-cmp/cmp"
)

func TestProduceConsume(t *testing.T) {
	const n = 100_000
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
			count := n
			if !tc.batched {
				count = n / 4 // unbatched sends are one frame each; a quarter keeps the suite quick
			}
			sendAll(t, ctx, p, payloads("m", count))
			got := receive(t, ctx, cons, count)
			if diff := cmp.Diff(wantStrings("m", 0, count), got); diff != "" {
				t.Fatalf("messages differ (-want +got):\n%s", diff)
			}
		})
	}
}
