package runtime

import (
	"context"
	"syscall"
	"testing"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"

	"github.com/meshc/meshc/broker"
	"github.com/meshc/meshc/internal/brokertest"
	"github.com/meshc/meshc/planner/plan"
)

// BenchmarkIdentity measures messages per second through one instance of
// the identity function, at_least_once, against the practical limit: a
// bare pulsar-client-go loop that receives, sends and acknowledges after
// the send, on the same broker in the same run. Each pass reads b.N
// messages produced beforehand and ends when the last output is read.
func BenchmarkIdentity(b *testing.B) {
	br := brokertest.Start(b, broker.Config{})
	c := brokertest.Client(b, br.URL())
	b.Run("bare", func(b *testing.B) {
		benchPass(b, br, c, func(ctx context.Context, in, out string) { bareLoop(b, ctx, c, in, out) })
	})
	b.Run("runtime", func(b *testing.B) {
		benchPass(b, br, c, func(ctx context.Context, in, out string) {
			f := function("id", "identity", in, out, str, str)
			pi := &plan.Instance{APIVersion: plan.APIVersion, Mesh: plan.Mesh{Tenant: "public", Namespace: "default"}, Component: f}
			if err := Run(ctx, Options{Plan: pi, PulsarURL: br.URL(), Registry: Builtins(), Logger: quietLog}); err != nil {
				b.Error(err)
			}
		})
	})
	// For comparison: effectively_once sends one output a batch, so that
	// no batch is partly a replay.
	b.Run("runtime-effectively-once", func(b *testing.B) {
		benchPass(b, br, c, func(ctx context.Context, in, out string) {
			f := onceFunction("id", "identity", in, out)
			pi := &plan.Instance{APIVersion: plan.APIVersion, Mesh: plan.Mesh{Tenant: "public", Namespace: "default"}, Component: f}
			if err := Run(ctx, Options{Plan: pi, PulsarURL: br.URL(), Registry: Builtins(), Logger: quietLog}); err != nil {
				b.Error(err)
			}
		})
	})
}

// benchPass produces b.N messages, starts process on them, and times
// until every output has been read.
func benchPass(b *testing.B, br *broker.Broker, c pulsar.Client, process func(ctx context.Context, in, out string)) {
	in, out := topic("bench-in"), topic("bench-out")
	p, err := c.CreateProducer(pulsar.ProducerOptions{Topic: in})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	payload := []byte("a message of a realistic size for a benchmark of the runtime, about a hundred bytes long.....")
	for range b.N {
		p.SendAsync(ctx, &pulsar.ProducerMessage{Payload: payload}, func(pulsar.MessageID, *pulsar.ProducerMessage, error) {})
	}
	if err := p.FlushWithCtx(ctx); err != nil {
		b.Fatal(err)
	}
	p.Close()
	reader, err := c.Subscribe(pulsar.ConsumerOptions{Topic: out, SubscriptionName: "bench-reader",
		SubscriptionInitialPosition: pulsar.SubscriptionPositionEarliest, ReceiverQueueSize: 10000})
	if err != nil {
		b.Fatal(err)
	}
	defer reader.Close()
	pctx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	b.ResetTimer()
	start, cpu := time.Now(), cpuTime()
	go func() { defer close(done); process(pctx, in, out) }()
	rctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	for i := range b.N {
		m, err := reader.Receive(rctx)
		if err != nil {
			b.Fatalf("read %d of %d outputs: %v", i, b.N, err)
		}
		reader.AckID(m.ID())
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
	// The whole process's CPU, broker and reader included: the difference
	// between passes is what the instance costs.
	b.ReportMetric(float64(cpuTime()-cpu)/float64(time.Microsecond)/float64(b.N), "cpu-µs/msg")
	b.StopTimer()
	stop()
	<-done
}

// bareLoop is what an instance does at the least: receive, send, and
// acknowledge once the send is confirmed.
func bareLoop(b *testing.B, ctx context.Context, c pulsar.Client, in, out string) {
	cons, err := c.Subscribe(pulsar.ConsumerOptions{Topic: in, SubscriptionName: "bare", Type: pulsar.Shared,
		SubscriptionInitialPosition: pulsar.SubscriptionPositionEarliest})
	if err != nil {
		b.Error(err)
		return
	}
	defer cons.Close()
	prod, err := c.CreateProducer(pulsar.ProducerOptions{Topic: out})
	if err != nil {
		b.Error(err)
		return
	}
	defer prod.Close()
	for {
		m, err := cons.Receive(ctx)
		if err != nil {
			return
		}
		prod.SendAsync(ctx, &pulsar.ProducerMessage{Payload: m.Payload()}, func(_ pulsar.MessageID, _ *pulsar.ProducerMessage, err error) {
			if err == nil {
				cons.Ack(m)
			}
		})
	}
}

// cpuTime is the CPU time this process has used, user and system.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
