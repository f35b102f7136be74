package runtime

import (
	"log/slog"
	"strings"
	"testing"

	"github.com/meshc/meshc/internal/syncbuf"
)

// TestThrottleBoundsAFlood logs a thousand lines of one kind at once: one
// is written, and flush writes the last with the count of the others.
func TestThrottleBoundsAFlood(t *testing.T) {
	var buf syncbuf.Buffer
	l := slog.New(slog.NewTextHandler(&buf, nil))
	var th throttle
	for i := range 1000 {
		th.log(l, slog.LevelWarn, "dead-lettering message", "n", i)
	}
	th.log(l, slog.LevelInfo, "another kind")
	th.flush(l)
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 3 {
		t.Fatalf("%d lines, want 3:\n%s", len(lines), buf.String())
	}
	for i, want := range []string{"n=0", "another kind", `n=999 "more like it before this"=998`} {
		if !strings.Contains(lines[i], want) {
			t.Errorf("line %d = %q, want %q in it", i, lines[i], want)
		}
	}
}
