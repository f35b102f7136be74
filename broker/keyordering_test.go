package broker

import (
	"encoding/binary"
	"fmt"
	"testing"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"
	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/proto"

	"github.com/meshc/meshc/broker/internal/wire"
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

// TestKeyHashesOfBatches: an entry's Key_Shared key is its messages'
// ordering key, else their partition key, also in a batch of one message.
// pulsar-client-go's batches carry only the partition key of their first
// message in the entry's metadata; read from there, a batch of one had
// another key than a larger batch of the same ordering key, and the key
// went to two consumers.
func TestKeyHashesOfBatches(t *testing.T) {
	single := func(key, ordering string) *wire.SingleMessageMetadata {
		m := &wire.SingleMessageMetadata{PayloadSize: proto.Int32(1)}
		if key != "" {
			m.PartitionKey = proto.String(key)
		}
		if ordering != "" {
			m.OrderingKey = []byte(ordering)
		}
		return m
	}
	for _, tc := range []struct {
		name       string
		compressed bool
		msgs       []*wire.SingleMessageMetadata
		want       []string
	}{
		{"one message, ordering key", false, []*wire.SingleMessageMetadata{single("same", "o2")}, []string{"o2"}},
		{"two messages, ordering key", false, []*wire.SingleMessageMetadata{single("same", "o2"), single("same", "o2")}, []string{"o2"}},
		{"one message, partition key", false, []*wire.SingleMessageMetadata{single("k1", "")}, []string{"k1"}},
		{"mixed keys, first first", false, []*wire.SingleMessageMetadata{single("k2", ""), single("k1", ""), single("k2", "")}, []string{"k2", "k1"}},
		{"compressed: the entry's key", true, []*wire.SingleMessageMetadata{single("same", "o2")}, []string{"same"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var payload []byte
			for _, m := range tc.msgs {
				b, err := proto.Marshal(m)
				if err != nil {
					t.Fatal(err)
				}
				payload = binary.BigEndian.AppendUint32(payload, uint32(len(b)))
				payload = append(append(payload, b...), 'x')
			}
			// As pulsar-client-go's batch container: the first message's
			// partition key, no ordering key.
			meta := &wire.MessageMetadata{ProducerName: proto.String("p"), SequenceId: proto.Uint64(0), PublishTime: proto.Uint64(1),
				PartitionKey: tc.msgs[0].PartitionKey, NumMessagesInBatch: proto.Int32(int32(len(tc.msgs)))}
			if tc.compressed {
				meta.Compression = wire.CompressionType_LZ4.Enum()
			}
			mb, err := proto.Marshal(meta)
			if err != nil {
				t.Fatal(err)
			}
			data := append(binary.BigEndian.AppendUint32(nil, uint32(len(mb))), mb...)
			e, _, err := newEntry(0, append(data, payload...))
			if err != nil {
				t.Fatal(err)
			}
			var want []uint32
			for _, k := range tc.want {
				want = append(want, hashKey([]byte(k)))
			}
			if diff := cmp.Diff(want, keyHashes(e)); diff != "" {
				t.Errorf("key hashes (-want +got):\n%s", diff)
			}
		})
	}
}
