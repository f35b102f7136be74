package broker

import (
	"testing"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"
	"github.com/google/go-cmp/cmp"
)

// TestDelayedDelivery: messages sent with DeliverAfter or DeliverAt reach
// Shared and Key_Shared consumers no earlier than asked, after the
// messages sent at once; Exclusive and Failover consumers get them at
// once, in order, as Pulsar does.
func TestDelayedDelivery(t *testing.T) {
	const delay = 2 * time.Second
	for _, tc := range []struct {
		typ     pulsar.SubscriptionType
		delayed bool
	}{
		{pulsar.Shared, true},
		{pulsar.KeyShared, true},
		{pulsar.Exclusive, false},
		{pulsar.Failover, false},
	} {
		t.Run(subTypeName(tc.typ), func(t *testing.T) {
			b := startBroker(t, Config{})
			c := newClient(t, b)
			ctx := testCtx(t)
			topic := uniqueTopic("delayed")
			cons := mustSubscribe(t, c, pulsar.ConsumerOptions{Topic: topic, SubscriptionName: "s", Type: tc.typ})
			p := mustProducer(t, c, pulsar.ProducerOptions{Topic: topic})
			sent := time.Now()
			sendAll(t, ctx, p, []*pulsar.ProducerMessage{
				{Payload: []byte("after"), Key: "k", DeliverAfter: delay},
				// Later than "after" by far more than a send takes, so that
				// the order is the order of their times on a busy machine.
				{Payload: []byte("at"), Key: "k", DeliverAt: sent.Add(delay + delay/2)},
				{Payload: []byte("now"), Key: "k"},
			})
			want := []string{"now", "after", "at"}
			if !tc.delayed {
				want = []string{"after", "at", "now"}
			}
			var got []string
			for range want {
				m, err := cons.Receive(ctx)
				if err != nil {
					t.Fatalf("after %v: %v", got, err)
				}
				got = append(got, string(m.Payload()))
				cons.Ack(m)
				// The protocol carries the time in whole milliseconds.
				if early := time.Since(sent) < delay-time.Millisecond; tc.delayed && early && string(m.Payload()) != "now" {
					t.Errorf("%q delivered %s after it was sent, before its delay of %s", m.Payload(), time.Since(sent), delay)
				}
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("order (-want +got):\n%s", diff)
			}
		})
	}
}

func subTypeName(t pulsar.SubscriptionType) string {
	return [...]string{pulsar.Exclusive: "Exclusive", pulsar.Shared: "Shared", pulsar.Failover: "Failover", pulsar.KeyShared: "Key_Shared"}[t]
}

// TestDelayedDeliveryAfterRestart: a delayed message not yet delivered
// when the broker restarts is still held until its time, then delivered.
func TestDelayedDeliveryAfterRestart(t *testing.T) {
	dir := t.TempDir()
	b := startBroker(t, Config{DataDir: dir})
	topic := uniqueTopic("delayed-restart")
	c := newClient(t, b)
	ctx := testCtx(t)
	mustSubscribe(t, c, pulsar.ConsumerOptions{Topic: topic, SubscriptionName: "s", Type: pulsar.Shared})
	p := mustProducer(t, c, pulsar.ProducerOptions{Topic: topic})
	at := time.Now().Add(3 * time.Second)
	sendAll(t, ctx, p, []*pulsar.ProducerMessage{{Payload: []byte("later"), DeliverAt: at}, {Payload: []byte("now")}})
	c.Close()
	b.Close()

	b = startBroker(t, Config{DataDir: dir, Listen: b.Addr().String()})
	cons := mustSubscribe(t, newClient(t, b), pulsar.ConsumerOptions{Topic: topic, SubscriptionName: "s", Type: pulsar.Shared})
	if diff := cmp.Diff([]string{"now", "later"}, receive(t, ctx, cons, 2)); diff != "" {
		t.Errorf("after a restart (-want +got):\n%s", diff)
	}
	// The protocol carries the time in whole milliseconds.
	if due := at.Truncate(time.Millisecond); time.Now().Before(due) {
		t.Errorf("delayed message delivered %s before its time", time.Until(due))
	}
}
