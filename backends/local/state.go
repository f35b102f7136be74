package local

import (
	"context"
	"fmt"
	"strconv"

	"github.com/apache/pulsar-client-go/pulsar"

	"github.com/meshc/meshc/runtime"
)

// stateful finds a function that keeps state.
func (m *Mesh) stateful(name string) (*component, error) {
	if name == "" {
		return nil, fmt.Errorf("name the function whose state to read or write")
	}
	comps, err := m.lookup(name)
	if err != nil {
		return nil, err
	}
	if !comps[0].plan.State {
		return nil, fmt.Errorf("%s %s keeps no state: set state = true in the mesh if it should", comps[0].plan.Kind, name)
	}
	return comps[0], nil
}

// QueryState reads one key of a function's state: its counter, else its
// value.
func (m *Mesh) QueryState(ctx context.Context, client pulsar.Client, name, key string) (runtime.StateEntry, bool, error) {
	if _, err := m.stateful(name); err != nil {
		return runtime.StateEntry{}, false, err
	}
	return runtime.QueryState(ctx, client, m.plan.Mesh.Tenant, m.plan.Mesh.Namespace, name, key)
}

// PutState sets one key of a function's state: a counter when counter is
// set or the key holds one already (value is then an integer), else a
// value. Running instances would take the change up by themselves, but one
// in the middle of a message for the same key could write over it, so the
// function's instances are stopped first and started again after: they
// settle what they have in flight, and read the new value when they start.
func (m *Mesh) PutState(ctx context.Context, client pulsar.Client, name, key, value string, counter bool) error {
	c, err := m.stateful(name)
	if err != nil {
		return err
	}
	t, ns := m.plan.Mesh.Tenant, m.plan.Mesh.Namespace
	if !counter {
		old, ok, err := runtime.QueryState(ctx, client, t, ns, name, key)
		if err != nil {
			return err
		}
		counter = ok && old.Counter
	}
	e := runtime.StateEntry{Key: key, Counter: counter, Value: []byte(value)}
	if counter {
		if e.Number, err = strconv.ParseInt(value, 10, 64); err != nil {
			return fmt.Errorf("%s is a counter: its value must be an integer, not %q", key, value)
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	wasRunning := c.running()
	c.halt()
	err = runtime.PutState(ctx, client, t, ns, name, e)
	if wasRunning {
		for _, i := range c.instances {
			i.start()
		}
	}
	return err
}
