package broker

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"
	"github.com/google/go-cmp/cmp"
)

// sendBatch publishes n messages that the producer puts in one batch.
func sendBatch(t *testing.T, c pulsar.Client, topic, prefix string, n int) {
	t.Helper()
	p := mustProducer(t, c, pulsar.ProducerOptions{Topic: topic, BatchingMaxMessages: uint(n), BatchingMaxPublishDelay: time.Minute})
	sendAll(t, testCtx(t), p, payloads(prefix, n))
	p.Close()
}

// ackEvens receives n messages and acknowledges the even ones; it returns
// the odd ones, unacknowledged.
func ackEvens(t *testing.T, cons pulsar.Consumer, n int) []pulsar.Message {
	t.Helper()
	var odd []pulsar.Message
	for i, m := range take(t, testCtx(t), cons, n) {
		if i%2 == 0 {
			if err := cons.Ack(m); err != nil {
				t.Fatal(err)
			}
			continue
		}
		odd = append(odd, m)
	}
	return odd
}

func payloadsOf(ms []pulsar.Message) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = string(m.Payload())
	}
	slices.Sort(out)
	return out
}

func odds(prefix string, n int) []string {
	var out []string
	for i := 1; i < n; i += 2 {
		out = append(out, fmt.Sprintf("%s-%d", prefix, i))
	}
	slices.Sort(out)
	return out
}

// TestBatchIndexAck: a consumer with EnableBatchIndexAcknowledgment
// acknowledges half of a batch; the other half alone is delivered again,
// after a negative ack, to a consumer that subscribes again, and after a
// restart of the broker.
func TestBatchIndexAck(t *testing.T) {
	const n = 10
	dir := t.TempDir()
	b := startBroker(t, Config{DataDir: dir})
	c := newClient(t, b)
	topic := uniqueTopic("batch-index-ack")
	// Acks are sent at once, not grouped for up to 100 ms: grouped, they
	// could reach the broker after the redelivery the nacks ask for.
	opts := pulsar.ConsumerOptions{Topic: topic, SubscriptionName: "s", Type: pulsar.Shared,
		EnableBatchIndexAcknowledgment: true, NackRedeliveryDelay: 100 * time.Millisecond,
		AckGroupingOptions: &pulsar.AckGroupingOptions{MaxSize: 1}}
	cons := mustSubscribe(t, c, opts)
	sendBatch(t, c, topic, "m", n)
	if st, _ := b.Stats(topic); st.MsgInCounter != n || b.existingTopic(topic).length() != 1 {
		t.Fatalf("want one batch of %d messages stored, got %d entries", n, b.existingTopic(topic).length())
	}

	// A negative ack of the rest: only they come again.
	for _, m := range ackEvens(t, cons, n) {
		cons.Nack(m)
	}
	again := take(t, testCtx(t), cons, n/2)
	if diff := cmp.Diff(odds("m", n), payloadsOf(again)); diff != "" {
		t.Errorf("after a negative ack (-want +got):\n%s", diff)
	}
	// Subscribing again: the same.
	cons.Close()
	cons = mustSubscribe(t, c, opts)
	if diff := cmp.Diff(odds("m", n), payloadsOf(take(t, testCtx(t), cons, n/2))); diff != "" {
		t.Errorf("after subscribing again (-want +got):\n%s", diff)
	}
	cons.Close()
	c.Close()
	b.Close()

	// After a restart: the same, from the cursor.
	b = startBroker(t, Config{DataDir: dir, Listen: b.Addr().String()})
	c = newClient(t, b)
	cons = mustSubscribe(t, c, opts)
	rest := take(t, testCtx(t), cons, n/2)
	if diff := cmp.Diff(odds("m", n), payloadsOf(rest)); diff != "" {
		t.Errorf("after a restart (-want +got):\n%s", diff)
	}
	for _, m := range rest {
		cons.Ack(m)
	}
	waitFor(t, func() bool {
		st, err := b.Stats(topic)
		return err == nil && st.Subscriptions["s"].MsgBacklog == 0
	})
}
