package runtime

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// throttle bounds log lines that may come once per message, so that a
// flood of bad input writes a few lines with counts rather than one line
// per message: the first line of a kind is written at once, later ones at
// most once per throttleEvery, each saying how many were left out since
// the last; flush writes what is left when the instance stops.
type throttle struct {
	mu    sync.Mutex
	kinds map[string]*throttled
}

type throttled struct {
	level   slog.Level
	next    time.Time // when the next line may be written
	skipped int       // lines left out since the last written
	last    []any     // the attributes of the last line left out
}

// throttleEvery is how often a throttled kind of line is written at most.
const throttleEvery = 5 * time.Second

// log writes a line of the kind msg names, unless one was written less
// than throttleEvery ago.
func (t *throttle) log(l *slog.Logger, level slog.Level, msg string, args ...any) {
	now := time.Now()
	t.mu.Lock()
	if t.kinds == nil {
		t.kinds = map[string]*throttled{}
	}
	k := t.kinds[msg]
	if k == nil {
		k = &throttled{level: level}
		t.kinds[msg] = k
	}
	if now.Before(k.next) {
		k.skipped++
		k.last = args
		t.mu.Unlock()
		return
	}
	skipped := k.skipped
	k.next, k.skipped, k.last = now.Add(throttleEvery), 0, nil
	t.mu.Unlock()
	if skipped > 0 {
		args = append(args, "more like it before this", skipped)
	}
	l.Log(context.Background(), level, msg, args...)
}

// flush writes, for each kind with lines left out, how many, with the
// attributes of the last of them.
func (t *throttle) flush(l *slog.Logger) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for msg, k := range t.kinds {
		if k.skipped > 0 {
			l.Log(context.Background(), k.level, msg, append(k.last, "more like it before this", k.skipped-1)...)
			k.skipped, k.last = 0, nil
		}
	}
}
