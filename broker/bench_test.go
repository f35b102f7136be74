package broker

import (
	"context"
	"encoding/binary"
	"slices"
	"testing"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"
)

// benchStores are the storage setups every benchmark compares.
var benchStores = []struct {
	name  string
	fsync FsyncPolicy // empty: in memory
}{{"memory", ""}, {"fsync-never", FsyncNever}, {"fsync-interval", FsyncInterval}, {"fsync-always", FsyncAlways}}

// runStores runs fn for every storage setup, batching on and off.
func runStores(b *testing.B, fn func(b *testing.B, br *Broker, batched bool)) {
	for _, store := range benchStores {
		for _, batched := range []bool{true, false} {
			name := store.name + "/batched"
			if !batched {
				name = store.name + "/unbatched"
			}
			b.Run(name, func(b *testing.B) {
				cfg := Config{}
				if store.fsync != "" {
					cfg.DataDir, cfg.Fsync = b.TempDir(), store.fsync
				}
				fn(b, startBroker(b, cfg), batched)
			})
		}
	}
}

// BenchmarkProduceConsume measures end-to-end throughput with the real
// client: one producer sending as fast as it can (up to 10,000 messages in
// flight), one consumer, 100-byte payloads. Its latencies are those of a
// saturated broker, mostly time spent queued. BenchmarkLatency measures
// them at a steady rate instead. Run both at one size, for figures that
// compare:
//
//	go test -run '^$' -bench 'ProduceConsume|Latency' -benchtime 100000x ./broker
func BenchmarkProduceConsume(b *testing.B) {
	runStores(b, func(b *testing.B, br *Broker, batched bool) { benchProduceConsume(b, br, batched, 0) })
}

// BenchmarkLatency measures end-to-end latency at 20,000 messages a
// second, a load every setup keeps up with.
func BenchmarkLatency(b *testing.B) {
	runStores(b, func(b *testing.B, br *Broker, batched bool) { benchProduceConsume(b, br, batched, 20000) })
}

// benchProduceConsume sends b.N messages, at rate messages a second or as
// fast as possible when rate is zero, and reports throughput and the
// latency from send to receipt by the consumer.
func benchProduceConsume(b *testing.B, br *Broker, batched bool, rate int) {
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
	for i := range b.N {
		if rate > 0 && i%100 == 0 {
			time.Sleep(time.Until(start.Add(time.Duration(i) * time.Second / time.Duration(rate))))
		}
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
	if rate == 0 {
		b.ReportMetric(float64(b.N)/elapsed.Seconds(), "msgs/s")
	}
	b.ReportMetric(float64(latencies[len(latencies)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(latencies[len(latencies)*99/100].Microseconds())/1000, "p99-ms")
}
