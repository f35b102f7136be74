package runtime

import (
	"context"
	"encoding/binary"
	"fmt"

	"github.com/apache/pulsar-client-go/pulsar"
)

// StateEntry is one key of a function's state, as tools show and set it:
// a counter (IncrCounter) or a value (PutState).
type StateEntry struct {
	Key     string
	Counter bool
	Number  int64  // the counter's value
	Value   []byte // the value's bytes
}

// QueryState reads one key of a function's state from its state topic, as
// a starting instance reads it: the counter of that name, else the value.
func QueryState(ctx context.Context, client pulsar.Client, tenant, namespace, function, key string) (StateEntry, bool, error) {
	s, err := openState(ctx, client, stateTopic(tenant, namespace, function), false, false)
	if err != nil {
		return StateEntry{}, false, err
	}
	defer s.close()
	if v, ok := s.get("c/" + key); ok && len(v) == 8 {
		return StateEntry{Key: key, Counter: true, Number: counter(v, ok)}, true, nil
	}
	if v, ok := s.get("s/" + key); ok {
		return StateEntry{Key: key, Value: v}, true, nil
	}
	return StateEntry{Key: key}, false, nil
}

// PutState writes one key of a function's state to its state topic. The
// function's running instances read the change from there too; one in the
// middle of a message that changes the same key may write over it.
func PutState(ctx context.Context, client pulsar.Client, tenant, namespace, function string, e StateEntry) error {
	s, err := openState(ctx, client, stateTopic(tenant, namespace, function), false, false)
	if err != nil {
		return err
	}
	defer s.close()
	key, value := "s/"+e.Key, e.Value
	if e.Counter {
		key, value = "c/"+e.Key, binary.BigEndian.AppendUint64(nil, uint64(e.Number))
	} else if len(value) == 0 {
		return fmt.Errorf("state values may not be empty")
	}
	done := make(chan error, 1)
	s.put(ctx, key, value, func(err error) { done <- err })
	select {
	case err = <-done:
	case <-ctx.Done():
		err = ctx.Err()
	}
	if err != nil {
		return fmt.Errorf("writing %q to the state of %s: %w", e.Key, function, err)
	}
	return nil
}
