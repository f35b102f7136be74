package local

import (
	"bytes"
	"io"
	"sync"
)

// lines merges the standard output of every instance into one writer,
// whole lines at a time, so lines of different instances never mix.
type lines struct {
	mu sync.Mutex
	w  io.Writer
}

// writer returns a writer for one process; Flush writes a last line that
// did not end in a newline.
func (l *lines) writer() *lineWriter { return &lineWriter{l: l} }

type lineWriter struct {
	l   *lines
	buf []byte
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.buf = append(w.buf, p...)
	if i := bytes.LastIndexByte(w.buf, '\n'); i >= 0 {
		w.l.write(w.buf[:i+1])
		w.buf = append(w.buf[:0], w.buf[i+1:]...)
	}
	return len(p), nil
}

// Flush writes what is left; the process has exited by then.
func (w *lineWriter) Flush() {
	if len(w.buf) > 0 {
		w.l.write(append(w.buf, '\n'))
		w.buf = nil
	}
}

func (l *lines) write(p []byte) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.w.Write(p)
}
