package local

import (
	"context"

	"github.com/apache/pulsar-client-go/pulsar"

	"github.com/meshc/meshc/backends/direct"
)

// QueryState reads one key of a function's state: its counter, else its
// value.
func (m *Mesh) QueryState(ctx context.Context, client pulsar.Client, name, key string) (direct.State, error) {
	return direct.QueryState(ctx, client, m.plan, name, key)
}

// PutState sets one key of a function's state (see direct.PutState).
// Running instances would take the change up by themselves, but one in
// the middle of a message for the same key could write over it, so the
// function's instances are stopped first and started again after: they
// settle what they have in flight, and read the new value when they start.
func (m *Mesh) PutState(ctx context.Context, client pulsar.Client, name, key, value string, counter bool) error {
	if _, err := direct.Stateful(m.plan, name); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	c := m.comps[name]
	wasRunning := c.running()
	c.halt()
	err := direct.PutState(ctx, client, m.plan, name, key, value, counter)
	if wasRunning {
		for _, i := range c.instances {
			i.start()
		}
	}
	return err
}
