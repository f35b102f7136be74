package runtime

import (
	"testing"
	"time"

	"github.com/meshc/meshc/planner/plan"
)

// TestAtMostOnceKillBatched kills an at_most_once instance with SIGKILL
// while it splits batched sentences into words, and restarts it: no word
// is written twice, though a batch's messages are acknowledged together.
func TestAtMostOnceKillBatched(t *testing.T) {
	url, f, words, seen := splitting(t, "amo", 0, plan.AtMostOnce)
	killedAt := killAndRestart(t, url, f, words, seen)
	seen.quiet(2 * time.Second)
	lost, dups := len(words)-seen.distinct(), seen.total()-seen.distinct()
	t.Logf("killed after %d of %d words; lost %d, duplicated %d", killedAt, len(words), lost, dups)
	if dups != 0 {
		t.Errorf("at_most_once wrote %d words twice", dups)
	}
}
