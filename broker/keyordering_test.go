package broker

import (
	"fmt"
	"testing"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"
)

// TestKeySharedOrderingKeys: Key_Shared consumers of messages keyed by
// ordering key, by partition key, or both, sent one by one or in
// key-based batches (KeyBasedBatchBuilder): every message arrives, each
// key at one consumer and in order, and every consumer gets keys. Key-based
// batches of one flush have interleaved sequence ids; deduplicated by
// their highest, half of them were dropped and the consumers waited for
// ever.
func TestKeySharedOrderingKeys(t *testing.T) {
	const n, keys = 600, 16

	for _, tc := range []struct {
		name     string
		key      func(i int) (key, ordering string)
		batching pulsar.ProducerOptions
	}{
		{"ordering key, unbatched", func(i int) (string, string) { return "", fmt.Sprintf("o%d", i%keys) },
			pulsar.ProducerOptions{DisableBatching: true}},
		{"ordering key, key-based batches", func(i int) (string, string) { return "", fmt.Sprintf("o%d", i%keys) },
			pulsar.ProducerOptions{BatcherBuilderType: pulsar.KeyBasedBatchBuilder}},
		{"partition key, key-based batches", func(i int) (string, string) { return fmt.Sprintf("k%d", i%keys), "" },
			pulsar.ProducerOptions{BatcherBuilderType: pulsar.KeyBasedBatchBuilder}},
		{"both, key-based batches", func(i int) (string, string) { return "same", fmt.Sprintf("o%d", i%keys) },
			pulsar.ProducerOptions{BatcherBuilderType: pulsar.KeyBasedBatchBuilder}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := startBroker(t, Config{})
			c := newClient(t, b)
			ctx := testCtx(t)
			topic := uniqueTopic("keyordering")
			opts := func(name string) pulsar.ConsumerOptions {
				return pulsar.ConsumerOptions{Topic: topic, SubscriptionName: "s", Type: pulsar.KeyShared, Name: name,
					ReceiverQueueSize: 50, SubscriptionInitialPosition: pulsar.SubscriptionPositionEarliest}
			}
			consumers := []pulsar.Consumer{mustSubscribe(t, c, opts("a")), mustSubscribe(t, c, opts("b")), mustSubscribe(t, c, opts("c"))}
			popts := tc.batching
			popts.Topic = topic
			popts.BatchingMaxPublishDelay = 20 * time.Millisecond
			p := mustProducer(t, c, popts)
			var msgs []*pulsar.ProducerMessage
			for i := range n {
				k, o := tc.key(i)
				msgs = append(msgs, &pulsar.ProducerMessage{Key: k, OrderingKey: o, Payload: []byte(fmt.Sprint(i))})
			}
			sendAll(t, ctx, p, msgs)

			owner, last := map[string]int{}, map[string]int{}
			for seen := 0; seen < n; {
				progressed := false
				for i, cons := range consumers {
					select {
					case m := <-cons.Chan():
						progressed = true
						seen++
						k := m.OrderingKey()
						if k == "" {
							k = m.Key()
						}
						if o, ok := owner[k]; ok && o != i {
							t.Fatalf("key %s went to consumers %d and %d", k, o, i)
						}
						owner[k] = i
						var v int
						fmt.Sscan(string(m.Payload()), &v)
						if prev, ok := last[k]; ok && v <= prev {
							t.Fatalf("key %s out of order: %d after %d", k, v, prev)
						}
						last[k] = v
						cons.Ack(m)
					default:
					}
				}
				if !progressed {
					select {
					case <-ctx.Done():
						st, _ := b.Stats(topic)
						t.Fatalf("received %d of %d; %+v", seen, n, st.Subscriptions["s"])
					case <-time.After(5 * time.Millisecond):
					}
				}
			}
			got := make([]int, len(consumers))
			for _, o := range owner {
				got[o]++
			}
			for i, k := range got {
				if k == 0 {
					t.Errorf("consumer %d got none of the %d keys (keys per consumer: %v)", i, keys, got)
				}
			}
		})
	}
}
