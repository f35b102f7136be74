package runtime

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"
	"github.com/google/go-cmp/cmp"

	"github.com/meshc/meshc/planner/plan"
)

// onceFunction is a function under effectively_once, as the compiler
// plans it: a failover subscription and no retries.
func onceFunction(name, impl, in, out string) plan.Component {
	f := function(name, impl, in, out, str, str)
	f.Guarantee, f.Subscription.Type, f.MaxRetries = plan.EffectivelyOnce, "failover", 0
	return f
}

// sentences produces n sentences of three words each, batched as
// pulsar-client-go batches by default, and returns the words.
func sentences(t *testing.T, c pulsar.Client, topic string, n int) []string {
	t.Helper()
	p, err := c.CreateProducer(pulsar.ProducerOptions{Topic: topic, BatchingMaxMessages: 50})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	var words []string
	for i := range n {
		w := []string{fmt.Sprintf("w%dx", i), fmt.Sprintf("w%dy", i), fmt.Sprintf("w%dz", i)}
		words = append(words, w...)
		p.SendAsync(context.Background(), &pulsar.ProducerMessage{Payload: []byte(strings.Join(w, " ")), Key: fmt.Sprint(i)},
			func(_ pulsar.MessageID, _ *pulsar.ProducerMessage, err error) {
				if err != nil {
					t.Error(err)
				}
			})
	}
	if err := p.FlushWithCtx(context.Background()); err != nil {
		t.Fatal(err)
	}
	return words
}

// splitting writes 1,000 batched sentences to NAME-in, split over the
// partitions given (none when 0), counts the words that come out on
// NAME-out, and returns SlowSplit from the one to the other under g.
func splitting(t *testing.T, name string, partitions int, g plan.Guarantee) (url string, f plan.Component, words []string, seen *outputs) {
	t.Helper()
	b := startBroker(t)
	c := client(t, b)
	in, out := topic(name+"-in"), topic(name+"-out")
	if partitions > 0 {
		if err := b.CreatePartitionedTopic(in, partitions); err != nil {
			t.Fatal(err)
		}
	}
	words = sentences(t, c, in, 1000)
	seen = countOutputs(t, c, out)
	f = function("split", "", in, out, str, str)
	f.Guarantee, f.MaxRetries = g, 0
	if g == plan.EffectivelyOnce {
		f = onceFunction("split", "", in, out)
	}
	f.Implementation = plan.Implementation{Kind: "go", Name: "SlowSplit"}
	return b.URL(), f, words, seen
}

// killAndRestart runs f in a process, kills it with SIGKILL once a quarter
// of the words are out, and starts another, which runs to the test's end.
// It returns how many words had come out at the kill.
func killAndRestart(t *testing.T, url string, f plan.Component, words []string, seen *outputs) int {
	t.Helper()
	first := startProcess(t, url, f)
	waitFor(t, func() bool { return seen.distinct() >= len(words)/4 })
	first.Process.Signal(syscall.SIGKILL)
	first.Wait()
	killedAt := seen.total()
	second := startProcess(t, url, f)
	t.Cleanup(func() { second.Process.Signal(syscall.SIGTERM); second.Wait() })
	return killedAt
}

// TestEffectivelyOnceKillBatched kills an effectively_once instance with
// SIGKILL while it splits batched sentences from a partitioned topic into
// words, several outputs per input, and checks that after a restart every
// word is written exactly once.
func TestEffectivelyOnceKillBatched(t *testing.T) {
	url, f, words, seen := splitting(t, "once", 2, plan.EffectivelyOnce)
	killedAt := killAndRestart(t, url, f, words, seen)
	waitFor(t, func() bool { return seen.distinct() == len(words) })
	seen.quiet(time.Second)
	lost, dups := len(words)-seen.distinct(), seen.total()-seen.distinct()
	t.Logf("killed after %d of %d words; lost %d, duplicated %d", killedAt, len(words), lost, dups)
	if lost != 0 || dups != 0 {
		t.Errorf("effectively_once lost %d words and wrote %d twice", lost, dups)
	}
}

// TestEffectivelyOnceFailover runs two effectively_once instances of one
// function over a partitioned topic, each the active consumer of a
// partition, and kills one: the other takes its partition over, opens its
// producer under the same name once the broker has let the dead one go,
// and every word is written exactly once. The first instance to start had
// both partitions for a moment, so the survivor often gets back a
// partition it handed over, with stale messages of it still queued.
func TestEffectivelyOnceFailover(t *testing.T) {
	url, f, words, seen := splitting(t, "fo", 2, plan.EffectivelyOnce)
	doomed := startProcess(t, url, f)
	survivor := startProcess(t, url, f)
	defer func() { survivor.Process.Signal(syscall.SIGTERM); survivor.Wait() }()
	waitFor(t, func() bool { return seen.distinct() >= len(words)/4 })
	doomed.Process.Signal(syscall.SIGKILL)
	doomed.Wait()
	waitFor(t, func() bool { return seen.distinct() == len(words) })
	seen.quiet(time.Second)
	if dups := seen.total() - seen.distinct(); dups != 0 {
		t.Errorf("effectively_once wrote %d words twice", dups)
	}
}

// TestEffectivelyOnceDeadLetters: a bad payload and a failing function's
// message go to the dead-letter topic, in order with the rest, once each.
func TestEffectivelyOnceDeadLetters(t *testing.T) {
	b := startBroker(t)
	c := client(t, b)
	in, out := topic("once-dl"), topic("once-dl-out")
	reg := NewRegistry().Func("picky", Typed(func(_ Context, s string) (string, error) {
		if s == "poison" {
			return "", errors.New("cannot handle poison")
		}
		return s, nil
	}))
	f := onceFunction("picky", "picky", in, out)
	produce(t, c, in, "a", "poison", "\xff not utf-8", "b")
	runInstance(t, b, f, reg)
	if got := payloads(collect(t, c, out, 2)); !cmp.Equal(got, []string{"a", "b"}) {
		t.Errorf("outputs = %q", got)
	}
	dead := collect(t, c, in+"-picky-DLQ", 2)
	if got := payloads(dead); !cmp.Equal(got, []string{"poison", "\xff not utf-8"}) {
		t.Errorf("dead letters = %q", got)
	}
	if reason := dead[0].Properties()["meshc-error"]; !strings.Contains(reason, "cannot handle poison") {
		t.Errorf("dead letter reason = %q", reason)
	}
}

func TestSequenceID(t *testing.T) {
	for _, tc := range []struct {
		entry, output, want int64
		err                 bool
	}{
		{0, 0, 0, false},
		{0, 1, 1, false},
		{1, 0, 1 << 16, false},
		{5, 65535, 5<<16 | 65535, false},
		{5, 65536, 0, true},
		{1<<47 - 1, 0, (1<<47 - 1) << 16, false},
		{1 << 47, 0, 0, true},
		{-1, 0, 0, true},
	} {
		got, err := sequenceID(tc.entry, tc.output)
		if (err != nil) != tc.err || got != tc.want {
			t.Errorf("sequenceID(%d, %d) = %d, %v; want %d, error %v", tc.entry, tc.output, got, err, tc.want, tc.err)
		}
	}
}

// TestPosition: outputs are counted from the start of each entry, and of
// each new pass over an entry, so that a message delivered twice in a row
// gets the same sequence ids both times.
func TestPosition(t *testing.T) {
	p := &oncePart{ledger: -1}
	var got []int64
	for _, id := range []struct {
		ledger, entry int64
		batch         int32
	}{
		{1, 0, -1}, {1, 1, 0}, {1, 1, 1}, {1, 1, 2}, // an unbatched entry, then a batch of three
		{1, 1, 0}, {1, 1, 1}, // the batch again
		{1, 2, -1}, {1, 2, -1}, // an entry twice
		{2, 0, -1}, // a new ledger
	} {
		p.position(pulsar.NewMessageID(id.ledger, id.entry, id.batch, 0))
		got = append(got, p.outputs)
		p.outputs += 2 // two outputs a message
	}
	if want := []int64{0, 0, 2, 4, 0, 2, 0, 0, 0}; !cmp.Equal(got, want) {
		t.Errorf("first output numbers = %v, want %v", got, want)
	}
}

// TestHandedOverPartitionSendsNothing: once another consumer has a
// partition, this one opens no producer for it, and a message it was still
// processing is left for the new owner without ending the session.
func TestHandedOverPartitionSendsNothing(t *testing.T) {
	stopped := false
	s := &onceSession{stop: func(error) { stopped = true }, parts: map[string]*oncePart{}}
	p := &oncePart{topic: "in", ledger: 1, inactive: true}
	if _, err := s.producer(p, "out", false); !errors.Is(err, errHandedOver) {
		t.Errorf("producer for a handed-over partition: error %v, want %v", err, errHandedOver)
	}
	s.settle(p, &onceMsg{}, errHandedOver)
	s.settle(p, &onceMsg{}, errSend) // a send the closed producer failed
	if stopped {
		t.Error("a handed-over message ended the session")
	}
}

// batchID is the id of message idx of an entry of size messages.
type batchID struct {
	pulsar.MessageID
	size int32
}

func (b batchID) BatchSize() int32 { return b.size }

// idMessage is a message with only a topic and an id.
type idMessage struct {
	pulsar.Message
	topic string
	id    pulsar.MessageID
}

func (m idMessage) Topic() string        { return m.topic }
func (m idMessage) ID() pulsar.MessageID { return m.id }
func entryMessage(entry int64, idx, size int32) pulsar.Message {
	return idMessage{topic: "in", id: batchID{pulsar.NewMessageID(1, entry, idx, 0), size}}
}

// TestRedeliveryInOpenBatch: a message delivered again in the middle of an
// entry whose outputs are held unsent in a batch ends the session, unsent;
// once the entry's batch is flushed, the entry may come again.
func TestRedeliveryInOpenBatch(t *testing.T) {
	var cause error
	s := &onceSession{in: &instance{}, stop: func(err error) { cause = err }, parts: map[string]*oncePart{}}
	for _, idx := range []int32{0, 1} {
		if p, _ := s.admit(entryMessage(5, idx, 3)); p == nil || !p.batched() {
			t.Fatalf("message %d of a batch of 3 not admitted as batched", idx)
		}
	}
	p := s.parts["in"]
	prod := &onceProducer{batching: true, dirty: true}
	p.producers = map[onceKey]*onceProducer{{"out", true}: prod}
	if got, _ := s.admit(entryMessage(5, 2, 3)); got == nil || cause != nil {
		t.Fatalf("the entry's next message: admitted %v, stop %v", got != nil, cause)
	}
	if got, _ := s.admit(entryMessage(5, 0, 3)); got != nil || !errors.Is(cause, errRedelivered) {
		t.Fatalf("the open entry again: admitted %v, stop %v; want the session ended with %v", got != nil, cause, errRedelivered)
	}
	cause, prod.dirty = nil, false // flushed
	if got, _ := s.admit(entryMessage(5, 0, 3)); got == nil || cause != nil || p.outputs != 0 {
		t.Errorf("a flushed entry again: admitted %v, stop %v, outputs from %d; want admitted from 0", got != nil, cause, p.outputs)
	}
}

// TestHandOverInBatchLeavesGap: a partition handed over in the middle of an
// entry whose outputs are batched is read again from the entry's start if
// it comes back; handed over at an entry's end it goes on.
func TestHandOverInBatchLeavesGap(t *testing.T) {
	for _, tc := range []struct {
		idx, size int32
		gap       bool
	}{{1, 3, true}, {2, 3, false}, {0, 1, false}} {
		s := &onceSession{in: &instance{}, stop: func(error) {}, parts: map[string]*oncePart{}}
		s.admit(entryMessage(5, tc.idx, tc.size))
		s.BecameInactive(nil, "in", 0)
		if got := s.parts["in"].gap; got != tc.gap {
			t.Errorf("handed over after message %d of %d: gap %v, want %v", tc.idx, tc.size, got, tc.gap)
		}
	}
}

// TestProducerAfter: what is not sent again is done when the last send is,
// with its error, at once when nothing is pending, and failed once closed.
func TestProducerAfter(t *testing.T) {
	o := &onceProducer{pending: map[uint64]func(error){}}
	var got []string
	o.after(func(err error) { got = append(got, fmt.Sprint("idle ", err)) })
	o.pending[0], o.sends = func(err error) { got = append(got, fmt.Sprint("send ", err)) }, 1
	o.after(func(err error) { got = append(got, fmt.Sprint("after ", err)) })
	o.take(0)(errSend)
	o.closed = true
	o.after(func(err error) { got = append(got, fmt.Sprint("closed ", err)) })
	want := []string{"idle <nil>", "send send failed", "after send failed", "closed producer closed"}
	if !cmp.Equal(got, want) {
		t.Errorf("done calls %q, want %q", got, want)
	}
}
