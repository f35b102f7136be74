package broker

import (
	"context"
	"encoding/binary"
	"slices"
	"testing"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"
)

// BenchmarkProduceConsume measures end-to-end throughput and latency with
// the real client: one producer, one consumer, 100-byte payloads.
func BenchmarkProduceConsume(b *testing.B) {
	for _, store := range []string{"memory", "disk"} {
		for _, batched := range []bool{true, false} {
			name := store + "/batched"
			if !batched {
				name = store + "/unbatched"
			}
			b.Run(name, func(b *testing.B) {
				cfg := Config{}
				if store == "disk" {
					cfg.DataDir = b.TempDir()
				}
				benchProduceConsume(b, startBroker(b, cfg), batched)
			})
		}
	}
}

func benchProduceConsume(b *testing.B, br *Broker, batched bool) {
	c := newClient(b, br)
	ctx := context.Background()
	topic := uniqueTopic("bench")
	cons := mustSubscribe(b, c, pulsar.ConsumerOptions{Topic: topic, SubscriptionName: "bench",
		SubscriptionInitialPosition: pulsar.SubscriptionPositionEarliest, ReceiverQueueSize: 10000})
	p := mustProducer(b, c, pulsar.ProducerOptions{Topic: topic, DisableBatching: !batched,
		MaxPendingMessages: 10000, BatchingMaxMessages: 1000})

	latencies := make([]time.Duration, 0, b.N)
	done := make(chan error, 1)
	go func() {
		for range b.N {
			m, err := cons.Receive(ctx)
			if err != nil {
				done <- err
				return
			}
			sent := int64(binary.BigEndian.Uint64(m.Payload()))
			latencies = append(latencies, time.Duration(time.Now().UnixNano()-sent))
			cons.AckID(m.ID())
		}
		done <- nil
	}()

	payload := make([]byte, 100)
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for range b.N {
		msg := &pulsar.ProducerMessage{Payload: slices.Clone(payload)}
		binary.BigEndian.PutUint64(msg.Payload, uint64(time.Now().UnixNano()))
		p.SendAsync(ctx, msg, func(_ pulsar.MessageID, _ *pulsar.ProducerMessage, err error) {
			if err != nil {
				b.Error(err)
			}
		})
	}
	if err := p.FlushWithCtx(ctx); err != nil {
		b.Fatal(err)
	}
	if err := <-done; err != nil {
		b.Fatal(err)
	}
	elapsed := time.Since(start)
	b.StopTimer()
	slices.Sort(latencies)
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "msgs/s")
	b.ReportMetric(float64(latencies[len(latencies)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(latencies[len(latencies)*99/100].Microseconds())/1000, "p99-ms")
}
