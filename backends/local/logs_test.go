package local

import (
	"bytes"
	"context"
	"errors"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/meshc/meshc/internal/syncbuf"
	"github.com/meshc/meshc/planner/plan"
)

func TestTailOffset(t *testing.T) {
	long := strings.Repeat("x", tailChunk+10) + "\n"
	tests := []struct {
		name    string
		content string
		n       int
		want    int64
	}{
		{"empty", "", 3, 0},
		{"all", "a\nb\nc\n", AllLines, 0},
		{"none", "a\nb\nc\n", 0, 6},
		{"last", "a\nb\nc\n", 1, 4},
		{"last two", "a\nb\nc\n", 2, 2},
		{"exactly all", "a\nb\nc\n", 3, 0},
		{"more than there are", "a\nb\nc\n", 5, 0},
		{"unended last line", "a\nb\nc", 1, 4},
		{"unended, two", "a\nb\nc", 2, 2},
		{"one unended line", "abc", 1, 0},
		{"empty lines", "\n\n\n", 1, 2},
		{"empty lines, two", "\n\n\n", 2, 1},
		{"line longer than a chunk", "a\n" + long + "b\n", 2, 2},
		{"newline on a chunk's edge", strings.Repeat("y", tailChunk-1) + "\n" + long, 1, tailChunk},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tailOffset(strings.NewReader(tt.content), int64(len(tt.content)), tt.n)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("tailOffset(%d) = %d, want %d", tt.n, got, tt.want)
			}
		})
	}
}

// TestTailOffsetManyChunks checks the last n lines of a log many chunks
// long against splitting it whole.
func TestTailOffsetManyChunks(t *testing.T) {
	var b strings.Builder
	for i := range 3000 {
		b.WriteString(strings.Repeat("z", i%37) + "\n")
	}
	content := b.String()
	lines := strings.SplitAfter(content, "\n")
	lines = lines[:len(lines)-1] // after the last newline
	for _, n := range []int{1, 2, 100, 1000, 2999, 3000, 3001} {
		off, err := tailOffset(strings.NewReader(content), int64(len(content)), n)
		if err != nil {
			t.Fatal(err)
		}
		want := strings.Join(lines[max(len(lines)-n, 0):], "")
		if diff := cmp.Diff(want, content[off:]); diff != "" {
			t.Errorf("last %d lines (-want +got):\n%s", n, diff)
		}
	}
}

// TestLogFileFollow reads a log as it grows, is truncated, recreated and
// removed, as the follow loop does: each read writes only the lines
// ended since the last.
func TestLogFileFollow(t *testing.T) {
	path := filepath.Join(t.TempDir(), "count-1.log")
	appendTo := func(s string) {
		f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if _, err := f.WriteString(s); err != nil {
			t.Fatal(err)
		}
	}
	steps := []struct {
		name string
		do   func()
		want string
	}{
		{"not there yet", func() {}, ""},
		{"created", func() { appendTo("one\ntwo\n") }, "c | one\nc | two\n"},
		{"nothing new", func() {}, ""},
		{"an unended line waits", func() { appendTo("thr") }, ""},
		{"until it ends", func() { appendTo("ee\n\nfour\n") }, "c | three\nc | \nc | four\n"},
		{"truncated", func() { os.Truncate(path, 0); appendTo("five\n") }, "c | five\n"},
		{"truncated, grown past where it was read", func() { os.Truncate(path, 0); appendTo("seven and more\n") },
			"c | seven and more\n"},
		{"recreated", func() { os.Remove(path); appendTo("a new file\n") }, "c | a new file\n"},
		{"removed", func() { os.Remove(path) }, ""},
		{"created again", func() { appendTo("six\n") }, "c | six\n"},
	}
	l := &logFile{path: path, prefix: "c | ", tail: 1} // nothing to tail: all of it is new
	for _, s := range steps {
		s.do()
		var out bytes.Buffer
		if err := l.copyNew(&out); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if diff := cmp.Diff(s.want, out.String()); diff != "" {
			t.Errorf("%s (-want +got):\n%s", s.name, diff)
		}
	}
}

func TestLogFileTailAndLongLines(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f-0.log")
	long := strings.Repeat("l", maxLine+5)
	if err := os.WriteFile(path, []byte("old\nkept\n"+long+"\nunended"), 0o644); err != nil {
		t.Fatal(err)
	}
	l := &logFile{path: path, tail: 3}
	var out bytes.Buffer
	if err := l.copyNew(&out); err != nil {
		t.Fatal(err)
	}
	if err := l.endLine(&out); err != nil {
		t.Fatal(err)
	}
	// A line too long to hold back is written in pieces.
	want := []string{"kept", long[:maxLine], long[maxLine:], "unended", ""}
	if diff := cmp.Diff(want, strings.Split(out.String(), "\n")); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// TestLogsAPI serves the logs of a mesh that is not started, its log files
// written by the test, through the client.
func TestLogsAPI(t *testing.T) {
	p := compile(t, `mesh m {}
topic in string external
topic out string
function up(in) -> out { use = builtin.upper, replicas = 2 }
sink print(out) { use = builtin.stdout }
`)
	dir := t.TempDir()
	m, err := New(p, Options{LogDir: dir, Stdout: &syncbuf.Buffer{},
		Command: func(*plan.Component) ([]string, error) { return []string{"true"}, nil }})
	if err != nil {
		t.Fatal(err)
	}
	write := func(name, s string) {
		f, err := os.OpenFile(filepath.Join(dir, name), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		f.WriteString(s)
	}
	write("up-0.log", "a\nb\nc\n")
	write("up-1.log", "d\ne\n")
	write("print-0.log", "p\nq\n")
	srv := NewServer(m, func() {})
	hs := httptest.NewServer(srv.Handler())
	defer hs.Close()
	c := &Client{base: hs.URL, http: hs.Client()}
	ctx := context.Background()

	tests := []struct {
		name, component string
		tail            int
		want            string
	}{
		{"all", "up", AllLines, "up-0 | a\nup-0 | b\nup-0 | c\nup-1 | d\nup-1 | e\n"},
		{"tail", "up", 1, "up-0 | c\nup-1 | e\n"},
		{"one instance, no prefix", "print", 1, "q\n"},
		{"none", "print", 0, ""},
	}
	for _, tt := range tests {
		var out bytes.Buffer
		if err := c.Logs(ctx, tt.component, LogOptions{Tail: tt.tail}, &out); err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if diff := cmp.Diff(tt.want, out.String()); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tt.name, diff)
		}
	}
	err = c.Logs(ctx, "nope", LogOptions{Tail: AllLines, Follow: true}, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), `mesh m has no function, source or sink "nope"`) {
		t.Errorf("logs of nope: got %v, want an error naming it", err)
	}

	// Following: the tail, then what is written, then the end of the run.
	var out syncbuf.Buffer
	done := make(chan error)
	go func() { done <- c.Logs(ctx, "up", LogOptions{Tail: 1, Follow: true}, &out) }()
	want := "up-0 | c\nup-1 | e\n"
	eventually(t, "the tail is sent", func() bool { return out.String() == want })
	write("up-1.log", "f\n")
	want += "up-1 | f\n"
	eventually(t, "a new line is sent", func() bool { return out.String() == want })
	write("up-0.log", "written as the run ends\n")
	srv.Close() // before the connections close, as meshc run does
	select {
	case err := <-done:
		if !errors.Is(err, ErrStopped) {
			t.Errorf("following when the run ends: got %v, want ErrStopped", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("following did not end with the run")
	}
	want += "up-0 | written as the run ends\n"
	if diff := cmp.Diff(want, out.String()); diff != "" {
		t.Errorf("followed (-want +got):\n%s", diff)
	}
}
