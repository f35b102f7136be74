package runtime

import (
	"sync"
	"time"
)

// DefaultGracePeriod is how long a stopping instance waits for the
// messages in flight to settle: under the 30 s that Kubernetes and the
// Nomad backend give a program between SIGTERM and SIGKILL.
const DefaultGracePeriod = 25 * time.Second

// waitGrace waits for the messages in flight to settle, for the grace
// period at most; those still unsettled then are not acknowledged, so they
// come again.
func (in *instance) waitGrace(inflight *sync.WaitGroup) {
	settled := make(chan struct{})
	go func() { inflight.Wait(); close(settled) }()
	grace := in.grace
	if grace <= 0 {
		grace = DefaultGracePeriod
	}
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-settled:
	case <-t.C:
		in.log.Warn("grace period over with messages in flight; they will be delivered again", "grace", grace)
	}
}
