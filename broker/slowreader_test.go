package broker

import (
	"fmt"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"

	"github.com/meshc/meshc/broker/internal/wire"
)

// dialSlowReader subscribes on a raw connection with a million permits and
// then never reads; its receive buffer is made small so the broker's
// writes back up at once.
func dialSlowReader(t *testing.T, b *Broker, topic, sub string) *rawClient {
	t.Helper()
	nc, err := net.Dial("tcp", b.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	if err := nc.(*net.TCPConn).SetReadBuffer(4 << 10); err != nil {
		t.Fatal(err)
	}
	r := &rawClient{t: t, nc: nc}
	cid, rid, permits := uint64(1), uint64(1), uint32(1<<20)
	earliest := wire.CommandSubscribe_Earliest
	setup := append(connectFrame(t), r.frame(&wire.BaseCommand{Type: wire.BaseCommand_SUBSCRIBE.Enum(),
		Subscribe: &wire.CommandSubscribe{Topic: &topic, Subscription: &sub, SubType: wire.CommandSubscribe_Shared.Enum(),
			ConsumerId: &cid, RequestId: &rid, InitialPosition: &earliest}})...)
	setup = append(setup, r.frame(&wire.BaseCommand{Type: wire.BaseCommand_FLOW.Enum(),
		Flow: &wire.CommandFlow{ConsumerId: &cid, MessagePermits: &permits}})...)
	if _, err := nc.Write(setup); err != nil {
		t.Fatal(err)
	}
	return r
}

// TestSlowReaders: clients that subscribe with many permits and never read
// their socket are sent no more than the limits let queue (per connection,
// or for the whole broker), other clients are served meanwhile, and once
// WriteTimeout passes the broker closes them and their messages go to a
// consumer that reads.
func TestSlowReaders(t *testing.T) {
	const n, size = 1000, 20 << 10 // 20 MB through the topic, past the sockets' buffers
	for _, tc := range []struct {
		name    string
		cfg     Config
		allowed int64 // what the limits let queue: three consumers' connections, or the broker
	}{
		{"per connection", Config{MaxPendingBytesPerConn: 256 << 10}, 3 * (256 << 10)},
		{"broker-wide", Config{MaxPendingBytes: 256 << 10}, 256 << 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.cfg.WriteTimeout = 3 * time.Second
			b := startBroker(t, tc.cfg)
			ctx := testCtx(t)
			topic := uniqueTopic("slow-readers")
			good := mustSubscribe(t, newClient(t, b), pulsar.ConsumerOptions{Topic: topic, SubscriptionName: "s", Type: pulsar.Shared,
				SubscriptionInitialPosition: pulsar.SubscriptionPositionEarliest})
			dialSlowReader(t, b, topic, "s")
			dialSlowReader(t, b, topic, "s")
			waitFor(t, func() bool {
				st, err := b.Stats(topic)
				return err == nil && len(st.Subscriptions["s"].Consumers) == 3
			})

			var most atomic.Int64
			stop := make(chan struct{})
			sampled := make(chan struct{})
			go func() {
				defer close(sampled)
				for {
					most.Store(max(most.Load(), b.QueuedBytes()))
					select {
					case <-stop:
						return
					case <-time.After(time.Millisecond):
					}
				}
			}()
			p := mustProducer(t, newClient(t, b), pulsar.ProducerOptions{Topic: topic, DisableBatching: true})
			msgs := make([]*pulsar.ProducerMessage, n)
			for i := range msgs {
				msgs[i] = &pulsar.ProducerMessage{Payload: fmt.Appendf(make([]byte, 0, size), "%0*d", size, i)}
			}
			sendAll(t, ctx, p, msgs)
			checkUnharmed(t, newClient(t, b))

			// Everything reaches the reading consumer, the slow readers'
			// share once they are closed.
			seen := map[string]bool{}
			for len(seen) < n {
				m, err := good.Receive(ctx)
				if err != nil {
					t.Fatalf("reading consumer got %d of %d: %v; slow readers closed: %d", len(seen), n, err, b.SlowReadersClosed())
				}
				seen[string(m.Payload())] = true
				good.Ack(m)
			}
			close(stop)
			<-sampled
			if got := b.SlowReadersClosed(); got != 2 {
				t.Errorf("slow readers closed: %d, want 2", got)
			}
			// The limits are checked before each entry is queued, so one
			// entry a connection may go past them, and buffers count by
			// capacity, which appending may take to twice their length.
			bound := 2 * (tc.allowed + 3*size)
			t.Logf("%d bytes produced; most queued for clients at once: %d (bound %d)", n*size, most.Load(), bound)
			if most.Load() > bound {
				t.Errorf("queued for clients at once: %d bytes, want at most %d", most.Load(), bound)
			}
			waitFor(t, func() bool { return b.QueuedBytes() == 0 })
		})
	}
}
