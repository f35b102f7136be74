package broker

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"
	"github.com/google/go-cmp/cmp"
)

// Retention and TTL act every 50ms in tests, so that they have acted
// within a fraction of a second, in these tests and in every other.
func init() { maintainEvery = 50 * time.Millisecond }

// smallSegments makes a log roll every few dozen messages, so retention
// has whole segments to drop.
const smallSegments = 4 << 10

func logSegments(t *testing.T, dataDir, topic string) int {
	t.Helper()
	segs, err := filepath.Glob(filepath.Join(topicDir(dataDir, mustParse(t, topic)), "log", "*.log"))
	if err != nil {
		t.Fatal(err)
	}
	return len(segs)
}

func mustParse(t *testing.T, topic string) string {
	t.Helper()
	n, err := parseTopic(topic)
	if err != nil {
		t.Fatal(err)
	}
	return n.String()
}

// readAllFromEarliest reads a topic with a reader from the earliest message
// still stored.
func readAllFromEarliest(t *testing.T, ctx context.Context, c pulsar.Client, topic string, compacted bool) []string {
	t.Helper()
	r, err := c.CreateReader(pulsar.ReaderOptions{Topic: topic, StartMessageID: pulsar.EarliestMessageID(), ReadCompacted: compacted})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var got []string
	for r.HasNext() {
		m, err := r.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, string(m.Payload()))
	}
	return got
}

// retentionDone reports whether retention will drop nothing more of tp
// until more is written or acknowledged: no drop is under way, and none is
// due even once all it holds is past the retention time. A stored size that
// holds still says less: maintenance may miss its ticks on a busy machine.
func retentionDone(tp *topic) bool {
	tp.trimMu.Lock()
	defer tp.trimMu.Unlock()
	floor, durable := tp.subsFloor()
	later := time.Now().Add(max(tp.b.cfg.RetentionTime, 0))
	return !durable || len(tp.droppable(floor, later)) == 0
}

// consumeAll subscribes, reads n messages and acknowledges them.
func consumeAll(t *testing.T, ctx context.Context, c pulsar.Client, topic, sub string, n int) {
	t.Helper()
	cons := mustSubscribe(t, c, pulsar.ConsumerOptions{Topic: topic, SubscriptionName: sub,
		SubscriptionInitialPosition: pulsar.SubscriptionPositionEarliest})
	receive(t, ctx, cons, n)
	cons.Close()
}

// TestRetention: with a durable subscription that acknowledged everything,
// a reader from the earliest message sees what retention keeps: all of it
// under unlimited retention, only the segment being written once the
// acknowledged data is past the retention time or size.
func TestRetention(t *testing.T) {
	const n = 300
	for _, tc := range []struct {
		name       string
		time       time.Duration
		size       int64
		wantPruned bool
	}{
		{"kept without limits", -1, -1, false},
		{"kept within size", -1, 1 << 30, false},
		{"kept within time", time.Hour, -1, false},
		{"none by default", 0, 0, true},
		{"past retention time", 50 * time.Millisecond, -1, true},
		{"over retention size", -1, 2 * smallSegments, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			b := startBroker(t, Config{DataDir: dir, SegmentSize: smallSegments, RetentionTime: tc.time, RetentionSize: tc.size})
			c := newClient(t, b)
			ctx := testCtx(t)
			topic := uniqueTopic("retention")
			consumeAll(t, ctx, c, topic, "s", 0) // the subscription exists before the messages
			p := mustProducer(t, c, pulsar.ProducerOptions{Topic: topic, DisableBatching: true})
			sendAll(t, ctx, p, payloads("m", n))
			consumeAll(t, ctx, c, topic, "s", n)
			tp := b.existingTopic(topic)
			if tc.wantPruned {
				// Retention keeps the segment being written and what fits
				// its size, a segment more at most.
				keep := max(tc.size, 0) + smallSegments + 512
				// Once it has done all it will, so that no segment goes
				// while the reader reads: a reader can lose the rest of a
				// segment it is reading and the next ones.
				waitFor(t, func() bool { return retentionDone(tp) })
				if stored := tp.storedSize.Load(); stored > keep {
					t.Fatalf("retention done with %d bytes stored, want at most %d", stored, keep)
				}
			} else {
				time.Sleep(3 * maintainPeriod(b.cfg)) // retention has had its chances
			}
			first := int(tp.first())
			got := readAllFromEarliest(t, ctx, c, topic, false)
			// Retention may drop a segment more while the reader reads:
			// it sees a whole tail, from first or later.
			if len(got) > 0 {
				var from int
				if _, err := fmt.Sscanf(got[0], "m-%d", &from); err == nil && from > first {
					first = from
				}
			}
			if diff := cmp.Diff(wantStrings("m", first, n), got); diff != "" {
				t.Fatalf("reader from earliest (-want +got):\n%s", diff)
			}
			if pruned := first > 0; pruned != tc.wantPruned {
				t.Fatalf("first entry still stored %d; want pruned %v", first, tc.wantPruned)
			}
			if segs := logSegments(t, dir, topic); tc.wantPruned && segs > int(tp.storedSize.Load()/smallSegments)+1 {
				t.Fatalf("%d segment files for %d bytes stored", segs, tp.storedSize.Load())
			}
		})
	}
}

// TestRetentionWithoutDurableSubscription: a topic nobody acknowledges
// keeps everything, unlike Pulsar, since meshc's state topics are read by
// readers alone.
func TestRetentionWithoutDurableSubscription(t *testing.T) {
	dir := t.TempDir()
	b := startBroker(t, Config{DataDir: dir, SegmentSize: smallSegments})
	c := newClient(t, b)
	ctx := testCtx(t)
	topic := uniqueTopic("nosub")
	p := mustProducer(t, c, pulsar.ProducerOptions{Topic: topic, DisableBatching: true})
	sendAll(t, ctx, p, payloads("m", 200))
	if got := readAllFromEarliest(t, ctx, c, topic, false); len(got) != 200 {
		t.Fatalf("first read got %d messages, want 200", len(got))
	}
	time.Sleep(3 * maintainPeriod(b.cfg))
	if got := readAllFromEarliest(t, ctx, c, topic, false); len(got) != 200 {
		t.Fatalf("second read got %d messages, want 200", len(got))
	}
}

// TestRetentionAcrossRestart: dropped segments stay dropped, and the
// deduplication table they held survives in its own file.
func TestRetentionAcrossRestart(t *testing.T) {
	dir := t.TempDir()
	cfg := Config{DataDir: dir, SegmentSize: smallSegments}
	b := startBroker(t, cfg)
	c := newClient(t, b)
	ctx := testCtx(t)
	topic := uniqueTopic("restart-trim")
	consumeAll(t, ctx, c, topic, "s", 0)
	p := mustProducer(t, c, pulsar.ProducerOptions{Topic: topic, Name: "writer", DisableBatching: true})
	sendAll(t, ctx, p, payloads("m", 300))
	consumeAll(t, ctx, c, topic, "s", 300)
	tp := b.existingTopic(topic)
	waitFor(t, func() bool { return tp.first() > 0 })
	first := tp.first()
	c.Close()
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}

	b2 := startBroker(t, cfg)
	tp2 := b2.existingTopic(topic)
	if tp2.first() < first || tp2.length() != 300 {
		t.Fatalf("after restart entries [%d, %d), want [%d or later, 300)", tp2.first(), tp2.length(), first)
	}
	if got := tp2.lastSequence("writer"); got != 299 {
		t.Fatalf("sequence id of writer after restart %d, want 299", got)
	}
	c2 := newClient(t, b2)
	p2 := mustProducer(t, c2, pulsar.ProducerOptions{Topic: topic, Name: "writer", DisableBatching: true})
	sendAll(t, ctx, p2, payloads("n", 5))
	cons := mustSubscribe(t, c2, pulsar.ConsumerOptions{Topic: topic, SubscriptionName: "s"})
	if diff := cmp.Diff(wantStrings("n", 0, 5), receive(t, ctx, cons, 5)); diff != "" {
		t.Fatalf("after restart (-want +got):\n%s", diff)
	}
}

// TestRetentionKeepsCompactedView: acknowledged segments go, but not the
// latest value of a key, which a compacted read still shows, before a
// restart and after it.
func TestRetentionKeepsCompactedView(t *testing.T) {
	dir := t.TempDir()
	cfg := Config{DataDir: dir, SegmentSize: smallSegments}
	b := startBroker(t, cfg)
	c := newClient(t, b)
	ctx := testCtx(t)
	topic := uniqueTopic("compacted-retention")
	consumeAll(t, ctx, c, topic, "s", 0)
	p := mustProducer(t, c, pulsar.ProducerOptions{Topic: topic, DisableBatching: true})
	var msgs []*pulsar.ProducerMessage
	msgs = append(msgs, &pulsar.ProducerMessage{Key: "early", Payload: []byte("kept")})
	for i := range 300 {
		msgs = append(msgs, &pulsar.ProducerMessage{Key: fmt.Sprintf("k%d", i%2), Payload: []byte(fmt.Sprintf("v%d", i))})
	}
	sendAll(t, ctx, p, msgs)
	if err := b.Compact(topic); err != nil {
		t.Fatal(err)
	}
	consumeAll(t, ctx, c, topic, "s", len(msgs))
	want := []string{"kept", "v298", "v299"}
	time.Sleep(3 * maintainPeriod(b.cfg))
	if diff := cmp.Diff(want, readAllFromEarliest(t, ctx, c, topic, true)); diff != "" {
		t.Fatalf("compacted read (-want +got):\n%s", diff)
	}
	c.Close()
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	b2 := startBroker(t, cfg)
	c2 := newClient(t, b2)
	time.Sleep(3 * maintainPeriod(b2.cfg))
	if diff := cmp.Diff(want, readAllFromEarliest(t, ctx, c2, topic, true)); diff != "" {
		t.Fatalf("compacted read after restart (-want +got):\n%s", diff)
	}
}

// ttlInTest is the message TTL of TestMessageTTL: a message sent after
// the TTL has acted must reach its consumer before the TTL takes it too,
// which a busy machine under the race detector may not do in 200 ms.
const ttlInTest = time.Second

// TestMessageTTL: messages left unacknowledged longer than the TTL are
// acknowledged for every subscription; later ones are delivered.
func TestMessageTTL(t *testing.T) {
	for _, dataDir := range []bool{false, true} {
		t.Run(fmt.Sprintf("data directory %v", dataDir), func(t *testing.T) {
			cfg := Config{MessageTTL: ttlInTest}
			if dataDir {
				cfg.DataDir = t.TempDir()
			}
			b := startBroker(t, cfg)
			c := newClient(t, b)
			ctx := testCtx(t)
			topic := uniqueTopic("ttl")
			consumeAll(t, ctx, c, topic, "a", 0)
			consumeAll(t, ctx, c, topic, "b", 0)
			p := mustProducer(t, c, pulsar.ProducerOptions{Topic: topic})
			sendAll(t, ctx, p, payloads("old", 50))
			waitFor(t, func() bool {
				st, _ := b.Stats(topic)
				return st.Subscriptions["a"].MsgBacklog == 0 && st.Subscriptions["b"].MsgBacklog == 0
			})
			cons := mustSubscribe(t, c, pulsar.ConsumerOptions{Topic: topic, SubscriptionName: "a"})
			sendAll(t, ctx, p, payloads("new", 1))
			if diff := cmp.Diff([]string{"new-0"}, receive(t, ctx, cons, 1)); diff != "" {
				t.Fatalf("after the TTL (-want +got):\n%s", diff)
			}
		})
	}
}

// TestBacklogQuota: in memory a topic holds at most MaxBacklogBytes that a
// subscription has not acknowledged. pulsar-client-go gets a send past it
// refused, reconnects, is refused the producer with
// ProducerBlockedQuotaExceededException and fails the send with
// ErrProducerBlockedQuotaExceeded; once the backlog is consumed a producer
// sends again.
func TestBacklogQuota(t *testing.T) {
	const quota = 64 << 10
	b := startBroker(t, Config{MaxBacklogBytes: quota})
	ctx := testCtx(t)
	topic := uniqueTopic("quota")
	consumer := newClient(t, b)
	consumeAll(t, ctx, consumer, topic, "s", 0)
	producer := newClient(t, b)
	p := mustProducer(t, producer, pulsar.ProducerOptions{Topic: topic, DisableBatching: true, SendTimeout: 20 * time.Second})
	payload := make([]byte, 1000)
	sent := 0
	var err error
	for ; sent < 2*quota/len(payload); sent++ {
		if _, err = p.Send(ctx, &pulsar.ProducerMessage{Payload: payload}); err != nil {
			break
		}
	}
	if !errors.Is(err, pulsar.ErrProducerBlockedQuotaExceeded) {
		t.Fatalf("after %d sends of %d bytes: err %v, want ErrProducerBlockedQuotaExceeded", sent, len(payload), err)
	}
	if sent < quota/len(payload)/2 || sent > quota/len(payload) {
		t.Fatalf("refused after %d sends of %d bytes under a quota of %d", sent, len(payload), quota)
	}
	_, err = producer.CreateProducer(pulsar.ProducerOptions{Topic: topic})
	if err == nil || !strings.Contains(err.Error(), "ProducerBlockedQuotaExceededException") {
		t.Fatalf("new producer while blocked: err %v, want ProducerBlockedQuotaExceededException", err)
	}

	consumeAll(t, ctx, consumer, topic, "s", sent)
	p2 := mustProducer(t, newClient(t, b), pulsar.ProducerOptions{Topic: topic, DisableBatching: true})
	if _, err := p2.Send(ctx, &pulsar.ProducerMessage{Payload: payload}); err != nil {
		t.Fatalf("send after the backlog was consumed: %v", err)
	}
}
