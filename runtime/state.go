package runtime

import (
	"context"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"sync"

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
// When several instances may write, a key not known to be current is read
// only once everything stored so far has been read.
type stateStore struct {
	mu       sync.Mutex
	values   map[string][]byte
	producer pulsar.Producer
	writer   string // in every change's properties: the store skips its own

	reader pulsar.Reader      // set while following
	stop   context.CancelFunc // stops following
	shared bool               // following, and other instances may write
	known  map[string]bool    // when shared: keys current here, written here or read after catching up
	at     statePos           // the last change read from the topic
	moved  chan struct{}      // closed, and replaced, when at moves
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
	s := &stateStore{values: map[string][]byte{}, known: map[string]bool{}, moved: make(chan struct{}),
		writer: fmt.Sprintf("%016x", rand.Uint64()), shared: follow && shared, at: statePos{ledger: -1, entry: -1}}
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
		delete(s.known, msg.Key())
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

// read returns a key's current value. When other instances may write and
// the key is not known to be current here, it first reads every change
// stored so far: one round trip to the broker per key, the first time and
// after another writer changed it.
func (s *stateStore) read(ctx context.Context, key string) ([]byte, bool, error) {
	s.mu.Lock()
	known := !s.shared || s.known[key]
	s.mu.Unlock()
	if !known {
		if err := s.catchUp(ctx); err != nil {
			return nil, false, err
		}
		s.mu.Lock()
		s.known[key] = true
		s.mu.Unlock()
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
	for {
		s.mu.Lock()
		done, moved := s.at.reached(last), s.moved
		s.mu.Unlock()
		if done {
			return nil
		}
		select {
		case <-moved:
		case <-ctx.Done():
			return fmt.Errorf("reading state from %s: %w", s.reader.Topic(), ctx.Err())
		}
	}
}

// put changes a key and sends the change; done reports when it is stored.
func (s *stateStore) put(ctx context.Context, key string, value []byte, done func(error)) {
	s.mu.Lock()
	s.apply(key, value)
	if s.shared {
		s.known[key] = true
	}
	s.mu.Unlock()
	m := &pulsar.ProducerMessage{Key: key, Payload: value, Properties: map[string]string{writerProperty: s.writer}}
	s.producer.SendAsync(context.WithoutCancel(ctx), m,
		func(_ pulsar.MessageID, _ *pulsar.ProducerMessage, err error) { done(err) })
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
