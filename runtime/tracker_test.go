package runtime

import (
	"errors"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// settledOnce records what a tracker told it.
type settledOnce struct {
	mu    sync.Mutex
	calls int
	err   error
}

func (s *settledOnce) settled(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	s.err = err
}

// TestTrackerSettlesOnce: a message is settled once, when its function has
// returned and its last send is done, whichever comes last, with the first
// failure.
func TestTrackerSettlesOnce(t *testing.T) {
	errA, errB := errors.New("a"), errors.New("b")
	for _, tc := range []struct {
		name  string
		steps []string // begin, end, end-a, end-b, seal, seal-a
		want  error
	}{
		{name: "no sends", steps: []string{"seal"}},
		{name: "sent before return", steps: []string{"begin", "end", "seal"}},
		{name: "sent after return", steps: []string{"begin", "seal", "end"}},
		{name: "two sends, one failed", steps: []string{"begin", "begin", "end-a", "seal", "end"}, want: errA},
		{name: "first failure kept", steps: []string{"begin", "begin", "seal", "end-a", "end-b"}, want: errA},
		{name: "function failed", steps: []string{"begin", "end-b", "seal-a"}, want: errB},
		{name: "function failed alone", steps: []string{"seal-a"}, want: errA},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var to settledOnce
			tr := &tracker{to: &to}
			for i, step := range tc.steps {
				if to.calls > 0 {
					t.Fatalf("settled before step %d (%s)", i, step)
				}
				switch step {
				case "begin":
					tr.begin()
				case "end":
					tr.end(nil)
				case "end-a":
					tr.end(errA)
				case "end-b":
					tr.end(errB)
				case "seal":
					tr.seal(nil)
				case "seal-a":
					tr.seal(errA)
				}
			}
			if to.calls != 1 {
				t.Fatalf("settled %d times, want once", to.calls)
			}
			if diff := cmp.Diff(tc.want, to.err, cmpopts.EquateErrors()); diff != "" {
				t.Errorf("settled with (-want +got):\n%s", diff)
			}
		})
	}
}

// TestTrackerConcurrentSends: sends settled on other goroutines, while the
// function still runs or after it returned, settle the message once.
func TestTrackerConcurrentSends(t *testing.T) {
	const sends = 64
	for range 200 {
		var to settledOnce
		tr := &tracker{to: &to}
		var wg sync.WaitGroup
		for range sends {
			tr.begin()
			wg.Go(func() { tr.end(nil) })
		}
		tr.seal(nil)
		wg.Wait()
		if to.calls != 1 || to.err != nil {
			t.Fatalf("settled %d times with %v, want once with no error", to.calls, to.err)
		}
	}
}
