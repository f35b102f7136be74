package runtime

import (
	"syscall"
	"testing"
	"time"

	"github.com/meshc/meshc/planner/plan"
)

// TestAtMostOnceKillBatched kills an at_most_once instance with SIGKILL
// while it splits batched sentences into words, and restarts it: no word
// is written twice, though a batch's messages are acknowledged together.
func TestAtMostOnceKillBatched(t *testing.T) {
	b := startBroker(t)
	c := client(t, b)
	in, out := topic("amo-in"), topic("amo-out")
	words := sentences(t, c, in, 1000)
	seen := countOutputs(t, c, out)
	f := function("split", "", in, out, str, str)
	f.Implementation = plan.Implementation{Kind: "go", Name: "SlowSplit"}
	f.Guarantee, f.MaxRetries = plan.AtMostOnce, 0

	first := startProcess(t, b.URL(), f)
	waitFor(t, func() bool { return seen.distinct() >= len(words)/4 })
	first.Process.Signal(syscall.SIGKILL)
	first.Wait()
	killedAt := seen.total()
	second := startProcess(t, b.URL(), f)
	defer func() { second.Process.Signal(syscall.SIGTERM); second.Wait() }()
	seen.quiet(2 * time.Second)
	lost, dups := len(words)-seen.distinct(), seen.total()-seen.distinct()
	t.Logf("killed after %d of %d words; lost %d, duplicated %d", killedAt, len(words), lost, dups)
	if dups != 0 {
		t.Errorf("at_most_once wrote %d words twice", dups)
	}
}
