package runtime

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"sync"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"
)

// stateStore keeps a function's counters and key-value state in memory and
// writes every change to a compacted topic, from which a starting instance
// reads it back: the latest value per key, an empty value deleting it.
//
// A running instance goes on reading the topic, so that changes made
// elsewhere reach it: by another instance of the function, when a key moves
// to this one (a key_shared subscription gives a key to one instance at a
// time, but moves keys when instances come and go), or by `meshc putstate`.
// When several instances may write, a message reads state only once the
// store has read every change stored before the message was received (see
// fresh): the instance that had its key before acknowledged its messages
// only once their changes were stored, and the broker gave the key here
// only after that.
type stateStore struct {
	mu       sync.Mutex
	values   map[string][]byte
	topic    string
	producer pulsar.Producer
	writer   string // in every change's properties: the store skips its own

	reader pulsar.Reader       // set while following
	stop   context.CancelFunc  // stops following
	shared bool                // following, and other instances may write
	at     statePos            // the last change read from the topic
	moved  chan struct{}       // closed, and replaced, when at moves
	fresh  freshness           // when shared
	inputs map[string]inputPos // under effectively_once: by input partition, the last change read
	// unsettled holds, for each key with changes not yet stored, its value
	// as last stored: a change that fails is taken back, so that the
	// message's retry, or a replay, starts from what the topic holds.
	unsettled map[string]*unsettled
}

type unsettled struct {
	n      int    // changes sent and not settled
	stored []byte // the value stored last; nil when none
	failed bool
}

// inputProperty names, under effectively_once, the input position whose
// message made a change.
const inputProperty = "meshc-state-input"

// inputPos is where in an input partition a change comes from: the ledger
// and the sequence id of the change (see sequenceID), which rise in the
// order the partition's messages are processed.
type inputPos struct {
	topic       string
	ledger, seq int64
}

func (p inputPos) String() string { return fmt.Sprintf("%d:%d@%s", p.ledger, p.seq, p.topic) }

func parseInputPos(s string) (inputPos, bool) {
	var p inputPos
	at, topic, ok := strings.Cut(s, "@")
	if !ok {
		return p, false
	}
	if _, err := fmt.Sscanf(at, "%d:%d", &p.ledger, &p.seq); err != nil {
		return p, false
	}
	p.topic = topic
	return p, true
}

func (p inputPos) after(q inputPos) bool {
	return p.ledger > q.ledger || p.ledger == q.ledger && p.seq > q.seq
}

// writerProperty names the store that wrote a change.
const writerProperty = "meshc-state-writer"

// statePos is a position in the state topic, and whether the whole entry
// (a batch of changes) has been read.
type statePos struct {
	ledger, entry int64
	whole         bool
}

// reached tells whether everything up to the entry of id has been read.
func (p statePos) reached(id pulsar.MessageID) bool {
	if p.ledger != id.LedgerID() {
		return p.ledger > id.LedgerID()
	}
	return p.entry > id.EntryID() || p.entry == id.EntryID() && p.whole
}

// stateTopic is where a function keeps its state.
func stateTopic(tenant, namespace, name string) string {
	return fmt.Sprintf("persistent://%s/%s/__state-%s", tenant, namespace, name)
}

// openState reads a function's state. With follow it goes on reading the
// changes that others write, until close; shared says other instances may
// write.
func openState(ctx context.Context, client pulsar.Client, topic string, follow, shared bool) (*stateStore, error) {
	s := &stateStore{values: map[string][]byte{}, topic: topic, moved: make(chan struct{}),
		writer: fmt.Sprintf("%016x", rand.Uint64()), shared: follow && shared, at: statePos{ledger: -1, entry: -1},
		inputs: map[string]inputPos{}, unsettled: map[string]*unsettled{},
		fresh: freshness{wake: make(chan struct{}, 1), ended: make(chan struct{})}}
	reader, err := client.CreateReader(pulsar.ReaderOptions{
		Topic: topic, StartMessageID: pulsar.EarliestMessageID(), ReadCompacted: true,
	})
	if err != nil {
		return nil, fmt.Errorf("reading state from %s: %w", topic, err)
	}
	for reader.HasNext() {
		msg, err := reader.Next(ctx)
		if err != nil {
			reader.Close()
			return nil, fmt.Errorf("reading state from %s: %w", topic, err)
		}
		s.take(msg)
	}
	if s.producer, err = client.CreateProducer(pulsar.ProducerOptions{Topic: topic}); err != nil {
		reader.Close()
		return nil, fmt.Errorf("opening state topic %s: %w", topic, err)
	}
	if !follow {
		reader.Close()
		return s, nil
	}
	fctx, stop := context.WithCancel(context.Background())
	s.reader, s.stop = reader, stop
	go s.follow(fctx)
	if s.shared {
		go s.catchUpLoop(fctx)
	}
	return s, nil
}

// follow reads the changes written after the store was opened.
func (s *stateStore) follow(ctx context.Context) {
	for {
		msg, err := s.reader.Next(ctx)
		if err != nil {
			return // closed
		}
		s.take(msg)
	}
}

// take applies a change read from the topic, unless this store wrote it.
func (s *stateStore) take(msg pulsar.Message) {
	id := msg.ID()
	s.mu.Lock()
	defer s.mu.Unlock()
	if msg.Properties()[writerProperty] != s.writer {
		s.apply(msg.Key(), msg.Payload())
	}
	if p, ok := parseInputPos(msg.Properties()[inputProperty]); ok && p.after(s.inputs[p.topic]) {
		s.inputs[p.topic] = p
	}
	s.at = statePos{id.LedgerID(), id.EntryID(), endsEntry(id)}
	close(s.moved)
	s.moved = make(chan struct{})
}

func (s *stateStore) apply(key string, value []byte) {
	if len(value) == 0 {
		delete(s.values, key)
		return
	}
	s.values[key] = value
}

// get returns what the store holds for a key.
func (s *stateStore) get(key string) ([]byte, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.values[key]
	return v, ok
}

// read returns a key's current value for a message holding ticket (see
// fresh).
func (s *stateStore) read(ctx context.Context, key string, ticket uint64) ([]byte, bool, error) {
	if err := s.waitFresh(ctx, ticket); err != nil {
		return nil, false, err
	}
	v, ok := s.get(key)
	return v, ok, nil
}

// catchUp waits until the store has read every change stored now.
func (s *stateStore) catchUp(ctx context.Context) error {
	last, err := s.reader.GetLastMessageID()
	if err != nil {
		return fmt.Errorf("reading state from %s: %w", s.reader.Topic(), err)
	}
	if last.EntryID() < 0 {
		return nil // nothing stored
	}
	err = awaitChange(ctx, func() (bool, <-chan struct{}) {
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.at.reached(last), s.moved
	})
	if err != nil {
		return fmt.Errorf("reading state from %s: %w", s.reader.Topic(), err)
	}
	return nil
}

// awaitChange waits until check says done, checking again each time the
// channel it returned last is closed.
func awaitChange(ctx context.Context, check func() (done bool, changed <-chan struct{})) error {
	for {
		done, changed := check()
		if done {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// put changes a key and sends the change; done reports when it is stored.
func (s *stateStore) put(ctx context.Context, key string, value []byte, done func(error)) {
	s.set(key, value)
	s.producer.SendAsync(context.WithoutCancel(ctx), s.change(key, value),
		func(_ pulsar.MessageID, _ *pulsar.ProducerMessage, err error) {
			s.settle(key, value, err)
			done(err)
		})
}

// set changes a key here, before its change is sent; settle must follow.
func (s *stateStore) set(key string, value []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.unsettled[key]
	if u == nil {
		u = &unsettled{stored: s.values[key]}
		s.unsettled[key] = u
	}
	u.n++
	s.apply(key, value)
}

// settle records that a change sent was stored, or failed; once a key has
// no change in flight, a failure takes it back to the value stored last.
func (s *stateStore) settle(key string, value []byte, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.unsettled[key]
	if u == nil {
		return
	}
	u.n--
	if err != nil {
		u.failed = true
	} else {
		u.stored = value
	}
	if u.n == 0 {
		if u.failed {
			s.apply(key, u.stored)
		}
		delete(s.unsettled, key)
	}
}

// change is the message that stores a key's new value.
func (s *stateStore) change(key string, value []byte) *pulsar.ProducerMessage {
	return &pulsar.ProducerMessage{Key: key, Payload: value, Properties: map[string]string{writerProperty: s.writer}}
}

// counter decodes a counter's value; a missing or malformed one is 0.
func counter(v []byte, ok bool) int64 {
	if !ok || len(v) != 8 {
		return 0
	}
	return int64(binary.BigEndian.Uint64(v))
}

func (s *stateStore) close() {
	if s == nil {
		return
	}
	if s.stop != nil {
		s.stop()
		s.reader.Close()
	}
	if s.producer != nil {
		s.producer.Close()
	}
}

// appliedThrough reads every change stored up to now, and returns the
// highest sequence id of an input partition's ledger whose changes are
// among them: those up to it were stored, in order, and their messages are
// not to change state again. A ledger past the one asked for means all of
// it was.
func (s *stateStore) appliedThrough(topic string, ledger int64) (int64, error) {
	ctx, cancel := context.WithTimeout(context.Background(), stateCatchUpTimeout)
	defer cancel()
	if err := s.catchUp(ctx); err != nil {
		return 0, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.inputs[topic]
	switch {
	case !ok || p.ledger < ledger:
		return -1, nil
	case p.ledger > ledger:
		return math.MaxInt64, nil
	}
	return p.seq, nil
}

// stateCatchUpTimeout bounds reading a state topic up to its end when an
// instance takes an input partition over.
const stateCatchUpTimeout = 30 * time.Second

// freshness orders reads after the changes other instances stored. Each
// message takes a ticket when it is received; it reads state once a
// catch-up (the topic's last position from the broker, then reading up to
// it) that began after the ticket has ended. One catch-up covers every
// ticket taken before it began, so a stream of messages received ahead of
// their turn waits for few round trips.
type freshness struct {
	mu    sync.Mutex
	asked uint64        // tickets handed out
	done  uint64        // tickets covered by catch-ups that have ended
	err   error         // of the last catch-up
	wake  chan struct{} // a ticket is waiting
	ended chan struct{} // closed, and replaced, when a catch-up ends
}

// ticket is taken when a message is received; 0 when no other instance
// writes, and nothing needs waiting for.
func (s *stateStore) ticket() uint64 {
	if s == nil || !s.shared {
		return 0
	}
	f := &s.fresh
	f.mu.Lock()
	f.asked++
	t := f.asked
	f.mu.Unlock()
	select {
	case f.wake <- struct{}{}:
	default:
	}
	return t
}

// catchUpLoop runs the catch-ups that tickets wait for.
func (s *stateStore) catchUpLoop(ctx context.Context) {
	f := &s.fresh
	for {
		select {
		case <-ctx.Done():
			return
		case <-f.wake:
		}
		f.mu.Lock()
		covered := f.asked
		f.mu.Unlock()
		err := s.catchUp(ctx)
		f.mu.Lock()
		f.done, f.err = covered, err
		close(f.ended)
		f.ended = make(chan struct{})
		f.mu.Unlock()
	}
}

// waitFresh waits until a catch-up covered ticket.
func (s *stateStore) waitFresh(ctx context.Context, ticket uint64) error {
	f := &s.fresh
	var last error // of the catch-up that covered ticket
	err := awaitChange(ctx, func() (bool, <-chan struct{}) {
		f.mu.Lock()
		defer f.mu.Unlock()
		last = f.err
		return f.done >= ticket, f.ended
	})
	if err != nil {
		return fmt.Errorf("reading state from %s: %w", s.topic, err)
	}
	return last
}
