package runtime

import (
	"encoding/json"
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/meshc/meshc/planner/plan"
)

// TestStateSurvivesKill counts one word with word_count (slowed down) in an
// instance process, kills it with SIGKILL mid-stream and starts it again:
// the count goes on from the stored state, and under at_least_once ends at
// least at the number of messages (a message processed again after the
// kill counts twice; SPEC.md says so).
func TestStateSurvivesKill(t *testing.T) {
	const n = 1000
	b := startBroker(t)
	c := client(t, b)
	in, out := topic("sk-in"), topic("sk-out")
	produce(t, c, in, strings.Split(strings.Repeat("fox ", n), " ")[:n]...)
	seen := countOutputs(t, c, out)
	countSchema := plan.Schema{Type: "json", Definition: `{"type":"record","name":"Count","fields":[{"name":"word","type":"string"},{"name":"count","type":"long"}]}`}
	f := function(fmt.Sprintf("count%d", topicSeq.Add(1)), "SlowCount", in, out, str, countSchema)
	f.Implementation.Kind, f.State, f.Subscription.Type = "go", true, "key_shared"

	first := startProcess(t, b.URL(), f)
	waitFor(t, func() bool { return seen.total() >= n/4 })
	first.Process.Signal(syscall.SIGKILL)
	first.Wait()
	killedAt := seen.total()
	second := startProcess(t, b.URL(), f)
	defer func() { second.Process.Signal(syscall.SIGTERM); second.Wait() }()
	waitFor(t, func() bool { return seen.highest() >= n })
	seen.quiet(time.Second)
	t.Logf("killed after %d of %d counts; the last count is %d", killedAt, n, seen.highest())
	if seen.highest() < n {
		t.Errorf("the count ended at %d, want at least %d", seen.highest(), n)
	}
}

// highest is the greatest count among the outputs, which are word counts.
func (o *outputs) highest() int64 {
	o.mu.Lock()
	defer o.mu.Unlock()
	var top int64
	for payload := range o.counts {
		var wc struct{ Count int64 }
		if json.Unmarshal([]byte(payload), &wc) == nil {
			top = max(top, wc.Count)
		}
	}
	return top
}
