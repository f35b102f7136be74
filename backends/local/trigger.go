package local

import (
	"context"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"

	"github.com/meshc/meshc/backends/direct"
)

// Trigger sends value to an input of a function or sink and returns the
// topic it went to and what the function writes for it (see
// direct.Trigger).
func (m *Mesh) Trigger(ctx context.Context, client pulsar.Client, name, topic, value string, timeout time.Duration) (string, []string, error) {
	return direct.Trigger(ctx, client, m.plan, name, topic, value, timeout)
}
