package broker

import (
	"testing"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"
	"github.com/google/go-cmp/cmp"
)

// TestDeadLetterInitialSubscription: a consumer whose dead-letter policy
// names an initial subscription sends a message it keeps failing to the
// dead-letter topic, where that subscription was created with the
// dead-letter producer, at the earliest position: a consumer that
// subscribes to it afterwards, from the latest position, still gets it.
func TestDeadLetterInitialSubscription(t *testing.T) {
	b := startBroker(t, Config{})
	c := newClient(t, b)
	ctx := testCtx(t)
	topic := uniqueTopic("dlq-source")
	dlq := topic + "-DLQ"
	cons := mustSubscribe(t, c, pulsar.ConsumerOptions{Topic: topic, SubscriptionName: "s", Type: pulsar.Shared,
		NackRedeliveryDelay: 50 * time.Millisecond,
		DLQ:                 &pulsar.DLQPolicy{MaxDeliveries: 2, DeadLetterTopic: dlq, InitialSubscriptionName: "dead"}})
	p := mustProducer(t, c, pulsar.ProducerOptions{Topic: topic})
	sendAll(t, ctx, p, payloads("poison", 1))
	for range 2 {
		m, err := cons.Receive(ctx)
		if err != nil {
			t.Fatal(err)
		}
		cons.Nack(m)
	}
	waitFor(t, func() bool {
		st, err := b.Stats(dlq)
		return err == nil && st.Subscriptions["dead"].MsgBacklog == 1
	})
	dead := mustSubscribe(t, c, pulsar.ConsumerOptions{Topic: dlq, SubscriptionName: "dead",
		SubscriptionInitialPosition: pulsar.SubscriptionPositionLatest})
	if diff := cmp.Diff([]string{"poison-0"}, receive(t, ctx, dead, 1)); diff != "" {
		t.Errorf("dead-letter subscription (-want +got):\n%s", diff)
	}
}
