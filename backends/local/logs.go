package local

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"time"
)

const (
	// AllLines asks Logs for every line of each instance's log.
	AllLines = -1
	// followPoll is how often a followed log is read again: often enough to
	// feel live, rarely enough to cost nothing while nothing is written.
	followPoll = 200 * time.Millisecond
	// streamsEndWait bounds how long Close waits for log streams to send
	// their last lines, so that a stuck client cannot hold up a shutdown.
	streamsEndWait = 2 * time.Second
	// probeTimeout bounds the question Logs asks when a followed stream
	// breaks: does the mesh still answer, or has it stopped?
	probeTimeout = 2 * time.Second
	// maxLine is the longest line held back waiting for its end; a longer
	// one is written in pieces of this size.
	maxLine = 1 << 20
	// fingerprintLen is how many of the bytes last read are kept to tell a
	// log rewritten since.
	fingerprintLen = 64
	// tailChunk is how much of a log is read at a time, backwards, to find
	// where its last lines start.
	tailChunk = 8 << 10
)

// LogOptions say which lines Logs prints.
type LogOptions struct {
	// Tail is how many of the last lines of each instance's log to print
	// first; AllLines prints all of them.
	Tail int
	// Follow keeps printing lines as they are written, until the request's
	// context ends or the run does.
	Follow bool
}

// ErrStopped says that the mesh whose logs were followed has stopped.
var ErrStopped = errors.New("the mesh has stopped; no more logs to follow")

// logs writes the standard error of a component's instances, each line
// prefixed with the instance's name when there are several. tail=N keeps
// the last N lines of each; follow=true then goes on writing lines as they
// are written, until the client leaves or the server closes.
func (s *Server) logs(w http.ResponseWriter, r *http.Request) {
	name := r.FormValue("component")
	tail, follow, err := logParams(r)
	var st []InstanceStatus
	if err == nil {
		st, err = s.mesh.Status(name)
	}
	if err != nil {
		reply(w, nil, err)
		return
	}
	files := make([]*logFile, len(st))
	for k, i := range st {
		files[k] = &logFile{path: i.Log, tail: tail}
		if len(st) > 1 {
			files[k].prefix = fmt.Sprintf("%s-%d | ", i.Component, i.Index)
		}
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if !follow {
		printLogs(w, files)
		return
	}
	if !s.streamStarts() {
		return // the server is closing: nothing more will be written
	}
	defer s.streams.Done()
	s.follow(r.Context(), w, files)
}

func logParams(r *http.Request) (tail int, follow bool, err error) {
	if r.FormValue("component") == "" {
		return 0, false, errors.New("name the function whose logs to show")
	}
	tail = AllLines
	if t := r.FormValue("tail"); t != "" {
		if tail, err = strconv.Atoi(t); err != nil || tail < AllLines {
			return 0, false, fmt.Errorf("tail=%q: give a number of lines, or %d for all", t, AllLines)
		}
	}
	if f := r.FormValue("follow"); f != "" {
		if follow, err = strconv.ParseBool(f); err != nil {
			return 0, false, fmt.Errorf("follow=%q: give true or false", f)
		}
	}
	return tail, follow, nil
}

// printLogs writes each log whole, one after the other.
func printLogs(w io.Writer, files []*logFile) {
	for _, f := range files {
		if f.copyNew(w) != nil || f.endLine(w) != nil {
			return // the client has gone
		}
	}
}

// follow writes what the logs hold, then what is added to them, polling,
// until ctx ends or the server closes; the lines written before it
// closes are sent first.
func (s *Server) follow(ctx context.Context, w http.ResponseWriter, files []*logFile) {
	flush := http.NewResponseController(w).Flush
	tick := time.NewTicker(followPoll)
	defer tick.Stop()
	for {
		for _, f := range files {
			if f.copyNew(w) != nil {
				return
			}
		}
		if flush() != nil {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-s.closing:
			for _, f := range files {
				if f.copyNew(w) != nil || f.endLine(w) != nil {
					return
				}
			}
			flush()
			return
		case <-tick.C:
		}
	}
}

// streamStarts counts a log stream that Close is to end, unless the
// server is closing already.
func (s *Server) streamStarts() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	select {
	case <-s.closing:
		return false
	default:
	}
	s.streams.Add(1)
	return true
}

// endStreams ends the log streams, each after the lines written so far,
// and waits for them a little: their connections close next.
func (s *Server) endStreams() {
	s.mu.Lock()
	select {
	case <-s.closing:
	default:
		close(s.closing)
	}
	s.mu.Unlock()
	done := make(chan struct{})
	go func() {
		s.streams.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(streamsEndWait):
	}
}

// logFile reads one instance's log as lines, from where it last stopped.
type logFile struct {
	path    string
	prefix  string      // put before each line
	tail    int         // lines to start with, on the first read only
	off     int64       // how far the file has been read
	seen    os.FileInfo // the file read, to tell when it is recreated
	partial []byte      // the start of a line not ended yet
	last    []byte      // the bytes just before off, to tell the file rewritten
}

// copyNew writes the lines added to the file since the last call. A
// file that was recreated or truncated, as when a log is cleared, is read
// again from its start. It fails only when w does: a log that cannot be
// read now (an instance not started yet) is read at the next call.
func (l *logFile) copyNew(w io.Writer) error {
	tail := l.tail
	l.tail = AllLines // lines that appear later are all new
	f, err := os.Open(l.path)
	if err != nil {
		return nil
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil
	}
	if l.seen != nil && (!os.SameFile(l.seen, fi) || fi.Size() < l.off || !l.unchanged(f)) {
		if err := l.endLine(w); err != nil {
			return err
		}
		l.off, l.last = 0, nil
	}
	l.seen = fi
	if tail != AllLines {
		if l.off, err = tailOffset(f, fi.Size(), tail); err != nil {
			return nil
		}
		l.remember(f)
	}
	if fi.Size() <= l.off {
		return nil
	}
	err = l.copyLines(w, io.NewSectionReader(f, l.off, fi.Size()-l.off))
	l.remember(f)
	return err
}

// remember keeps the bytes just before the offset, for unchanged.
func (l *logFile) remember(f io.ReaderAt) {
	l.last = make([]byte, min(l.off, fingerprintLen))
	if _, err := f.ReadAt(l.last, l.off-int64(len(l.last))); err != nil {
		l.last = nil
	}
}

// unchanged tells whether the bytes before the offset are still those
// read: a recreated file can reuse the old one's inode, and a truncated
// one grow past the offset between two reads.
func (l *logFile) unchanged(f io.ReaderAt) bool {
	if len(l.last) == 0 {
		return true
	}
	now := make([]byte, len(l.last))
	_, err := f.ReadAt(now, l.off-int64(len(now)))
	return err == nil && bytes.Equal(now, l.last)
}

// copyLines writes the whole lines of r, each with the prefix, and keeps
// the last one back if it has not ended yet.
func (l *logFile) copyLines(w io.Writer, r io.Reader) error {
	buf := make([]byte, 32<<10)
	for {
		n, err := r.Read(buf)
		l.off += int64(n)
		for data := buf[:n]; len(data) > 0; {
			line, rest, ended := bytes.Cut(data, []byte{'\n'})
			if k := maxLine - len(l.partial); len(line) > k {
				line, rest, ended = line[:k], data[k:], true // too long: a piece goes as a line
			}
			if !ended {
				l.partial = append(l.partial, line...)
				break
			}
			data = rest
			if err := l.writeLine(w, line); err != nil {
				return err
			}
		}
		if err != nil {
			return nil // io.EOF; a read error is tried again next time
		}
	}
}

// writeLine writes the line held back followed by line, as one line.
func (l *logFile) writeLine(w io.Writer, line []byte) error {
	out := make([]byte, 0, len(l.prefix)+len(l.partial)+len(line)+1)
	out = append(append(append(out, l.prefix...), l.partial...), line...)
	l.partial = l.partial[:0]
	_, err := w.Write(append(out, '\n'))
	return err
}

// endLine writes the line held back, if any, as if it had ended.
func (l *logFile) endLine(w io.Writer) error {
	if len(l.partial) == 0 {
		return nil
	}
	return l.writeLine(w, nil)
}

// tailOffset returns where the last n lines of a file of the given size
// start, as tail -n counts them: a last line without a newline counts.
// It reads the file backwards, so a long log costs only its tail.
func tailOffset(r io.ReaderAt, size int64, n int) (int64, error) {
	if n < 0 {
		return 0, nil
	}
	if n == 0 {
		return size, nil
	}
	end := size
	if end > 0 {
		last := make([]byte, 1)
		if _, err := r.ReadAt(last, end-1); err != nil {
			return 0, err
		}
		if last[0] == '\n' {
			end-- // the last line's own newline does not start a line
		}
	}
	buf := make([]byte, tailChunk)
	for end > 0 {
		start := max(end-tailChunk, 0)
		chunk := buf[:end-start]
		if _, err := r.ReadAt(chunk, start); err != nil && !errors.Is(err, io.EOF) {
			return 0, err
		}
		for i := len(chunk) - 1; i >= 0; i-- {
			if chunk[i] != '\n' {
				continue
			}
			if n--; n == 0 {
				return start + int64(i) + 1, nil
			}
		}
		end = start
	}
	return 0, nil
}
