package direct

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/apache/pulsar-client-go/pulsar"

	"github.com/meshc/meshc/planner/plan"
	"github.com/meshc/meshc/runtime"
)

// Component finds a function, source or sink of p by name.
func Component(p *plan.Plan, name string) (*plan.Component, error) {
	var names []string
	for i := range p.Components {
		c := &p.Components[i]
		if c.Name == name {
			return c, nil
		}
		names = append(names, c.Name)
	}
	return nil, fmt.Errorf("mesh %s has no function, source or sink %q; it has %s", p.Mesh.Name, name, strings.Join(names, ", "))
}

// Stateful finds a function of p that keeps state.
func Stateful(p *plan.Plan, name string) (*plan.Component, error) {
	if name == "" {
		return nil, fmt.Errorf("name the function whose state to read or write")
	}
	c, err := Component(p, name)
	if err != nil {
		return nil, err
	}
	if !c.State {
		return nil, fmt.Errorf("%s %s keeps no state: set state = true in the mesh if it should", c.Kind, name)
	}
	return c, nil
}

// State is one key of a function's state, in the shape of Pulsar's
// FunctionState.
type State struct {
	Key         string `json:"key"`
	StringValue string `json:"stringValue,omitempty"`
	NumberValue *int64 `json:"numberValue,omitempty"`
}

// ErrNoKey is the error of a key that is not set.
var ErrNoKey = errors.New("no such key")

// QueryState reads one key of a function's state: its counter, else its
// value.
func QueryState(ctx context.Context, client pulsar.Client, p *plan.Plan, name, key string) (State, error) {
	if _, err := Stateful(p, name); err != nil {
		return State{}, err
	}
	e, ok, err := runtime.QueryState(ctx, client, p.Mesh.Tenant, p.Mesh.Namespace, name, key)
	switch {
	case err != nil:
		return State{}, err
	case !ok:
		return State{}, fmt.Errorf("%s has no state under key %q: %w", name, key, ErrNoKey)
	}
	s := State{Key: key, StringValue: string(e.Value)}
	if e.Counter {
		s.NumberValue = &e.Number
	}
	return s, nil
}

// PutState sets one key of a function's state: a counter when counter is
// set or the key holds one already (value is then an integer), else a
// value. Running instances take the change up within moments; one in the
// middle of a message for the same key may write over it.
func PutState(ctx context.Context, client pulsar.Client, p *plan.Plan, name, key, value string, counter bool) error {
	if _, err := Stateful(p, name); err != nil {
		return err
	}
	t, ns := p.Mesh.Tenant, p.Mesh.Namespace
	if !counter {
		old, ok, err := runtime.QueryState(ctx, client, t, ns, name, key)
		if err != nil {
			return err
		}
		counter = ok && old.Counter
	}
	e := runtime.StateEntry{Key: key, Counter: counter, Value: []byte(value)}
	if counter {
		n, err := strconv.ParseInt(value, 10, 64)
		if err != nil {
			return fmt.Errorf("%s is a counter: its value must be an integer, not %q", key, value)
		}
		e.Number = n
	}
	return runtime.PutState(ctx, client, t, ns, name, e)
}
