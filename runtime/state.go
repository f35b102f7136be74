package runtime

import (
	"context"
	"encoding/binary"
	"fmt"
	"sync"

	"github.com/apache/pulsar-client-go/pulsar"
)

// stateStore keeps a function's counters and key-value state in memory and
// writes every change to a compacted topic, from which a restarted instance
// reads it back: the latest value per key, an empty value deleting it.
type stateStore struct {
	mu       sync.Mutex
	values   map[string][]byte
	producer pulsar.Producer
}

// stateTopic is where a function keeps its state.
func stateTopic(tenant, namespace, name string) string {
	return fmt.Sprintf("persistent://%s/%s/__state-%s", tenant, namespace, name)
}

func openState(ctx context.Context, client pulsar.Client, topic string) (*stateStore, error) {
	s := &stateStore{values: map[string][]byte{}}
	reader, err := client.CreateReader(pulsar.ReaderOptions{
		Topic: topic, StartMessageID: pulsar.EarliestMessageID(), ReadCompacted: true,
	})
	if err != nil {
		return nil, fmt.Errorf("reading state from %s: %w", topic, err)
	}
	defer reader.Close()
	for reader.HasNext() {
		msg, err := reader.Next(ctx)
		if err != nil {
			return nil, fmt.Errorf("reading state from %s: %w", topic, err)
		}
		s.apply(msg.Key(), msg.Payload())
	}
	s.producer, err = client.CreateProducer(pulsar.ProducerOptions{Topic: topic})
	if err != nil {
		return nil, fmt.Errorf("opening state topic %s: %w", topic, err)
	}
	return s, nil
}

func (s *stateStore) apply(key string, value []byte) {
	if len(value) == 0 {
		delete(s.values, key)
		return
	}
	s.values[key] = value
}

func (s *stateStore) get(key string) ([]byte, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.values[key]
	return v, ok
}

// put changes a key and sends the change; done reports when it is stored.
func (s *stateStore) put(ctx context.Context, key string, value []byte, done func(error)) {
	s.mu.Lock()
	s.apply(key, value)
	s.mu.Unlock()
	s.producer.SendAsync(context.WithoutCancel(ctx), &pulsar.ProducerMessage{Key: key, Payload: value},
		func(_ pulsar.MessageID, _ *pulsar.ProducerMessage, err error) { done(err) })
}

func (s *stateStore) counter(key string) int64 {
	v, ok := s.get("c/" + key)
	if !ok || len(v) != 8 {
		return 0
	}
	return int64(binary.BigEndian.Uint64(v))
}

func (s *stateStore) close() {
	if s != nil && s.producer != nil {
		s.producer.Close()
	}
}
