package broker

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"
	plog "github.com/apache/pulsar-client-go/pulsar/log"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// startBroker runs a broker on a free port for the length of the test.
func startBroker(t testing.TB, cfg Config) *Broker {
	t.Helper()
	if cfg.Listen == "" && cfg.TLSListen == "" {
		cfg.Listen = "127.0.0.1:0"
	}
	if cfg.Logger == nil {
		cfg.Logger = quiet
	}
	b, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

func newClient(t testing.TB, b *Broker) pulsar.Client {
	t.Helper()
	return newClientLogging(t, b, quiet)
}

// newClientLogging is newClient, logging to logger.
func newClientLogging(t testing.TB, b *Broker, logger *slog.Logger) pulsar.Client {
	t.Helper()
	c, err := pulsar.NewClient(pulsar.ClientOptions{
		URL:               b.URL(),
		Logger:            plog.NewLoggerWithSlog(logger),
		OperationTimeout:  10 * time.Second,
		ConnectionTimeout: 5 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

var topicSeq atomic.Int64

// topicName returns a topic name no other test uses.
func uniqueTopic(prefix string) string {
	return fmt.Sprintf("persistent://public/default/%s-%d", prefix, topicSeq.Add(1))
}

// patience is how long a test waits for what must happen: long, since
// under the race detector on a small, busy machine a step that takes
// milliseconds alone can take seconds.
const patience = time.Minute

func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	t.Cleanup(cancel)
	return ctx
}

// waitFor polls cond until it holds, failing the test after patience.
func waitFor(t testing.TB, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(patience)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("condition not met in %s", patience)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func mustProducer(t testing.TB, c pulsar.Client, opts pulsar.ProducerOptions) pulsar.Producer {
	t.Helper()
	p, err := c.CreateProducer(opts)
	if err != nil {
		t.Fatalf("create producer on %s: %v", opts.Topic, err)
	}
	t.Cleanup(p.Close)
	return p
}

func mustSubscribe(t testing.TB, c pulsar.Client, opts pulsar.ConsumerOptions) pulsar.Consumer {
	t.Helper()
	cons, err := c.Subscribe(opts)
	if err != nil {
		t.Fatalf("subscribe %s to %s: %v", opts.SubscriptionName, opts.Topic, err)
	}
	t.Cleanup(cons.Close)
	return cons
}

// receive reads n messages, acknowledging each, and returns their payloads.
func receive(t testing.TB, ctx context.Context, cons pulsar.Consumer, n int) []string {
	t.Helper()
	out := make([]string, 0, n)
	for len(out) < n {
		m, err := cons.Receive(ctx)
		if err != nil {
			t.Fatalf("after %d of %d messages: %v", len(out), n, err)
		}
		out = append(out, string(m.Payload()))
		if err := cons.Ack(m); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// take receives n messages and acknowledges none.
func take(t testing.TB, ctx context.Context, cons pulsar.Consumer, n int) []pulsar.Message {
	t.Helper()
	out := make([]pulsar.Message, 0, n)
	for len(out) < n {
		m, err := cons.Receive(ctx)
		if err != nil {
			t.Fatalf("after %d of %d messages: %v", len(out), n, err)
		}
		out = append(out, m)
	}
	return out
}

// sendAll publishes payloads asynchronously and waits for every receipt.
func sendAll(t testing.TB, ctx context.Context, p pulsar.Producer, msgs []*pulsar.ProducerMessage) {
	t.Helper()
	errs := make(chan error, len(msgs))
	for _, m := range msgs {
		p.SendAsync(ctx, m, func(_ pulsar.MessageID, _ *pulsar.ProducerMessage, err error) { errs <- err })
	}
	if err := p.FlushWithCtx(ctx); err != nil {
		t.Fatal(err)
	}
	for range msgs {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}

func payloads(prefix string, n int) []*pulsar.ProducerMessage {
	out := make([]*pulsar.ProducerMessage, n)
	for i := range out {
		out[i] = &pulsar.ProducerMessage{Payload: []byte(fmt.Sprintf("%s-%d", prefix, i))}
	}
	return out
}

func wantStrings(prefix string, from, to int) []string {
	var out []string
	for i := from; i < to; i++ {
		out = append(out, fmt.Sprintf("%s-%d", prefix, i))
	}
	return out
}

// logSignal is a log handler that closes seen once a record with the
// message msg is logged: how a test learns that pulsar-client-go has done
// something it tells nothing else of.
type logSignal struct {
	msg  string
	once *sync.Once
	seen chan struct{}
}

func newLogSignal(msg string) logSignal {
	return logSignal{msg: msg, once: &sync.Once{}, seen: make(chan struct{})}
}

func (h logSignal) Enabled(context.Context, slog.Level) bool { return true }

func (h logSignal) Handle(_ context.Context, r slog.Record) error {
	if r.Message == h.msg {
		h.once.Do(func() { close(h.seen) })
	}
	return nil
}

func (h logSignal) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h logSignal) WithGroup(string) slog.Handler      { return h }
