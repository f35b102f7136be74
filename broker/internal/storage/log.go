package storage

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// Record layout: [body length u32][crc32c of body u32][body], where body is
// [wire checksum u32][highest sequence id u64][headers and payload]. The
// record checksum tells a torn or corrupt tail from data; the wire checksum
// is stored so entries go back out unchanged, and the sequence id so the
// deduplication table can be rebuilt exactly from the log.
const (
	recordHeader = 8
	bodyHeader   = 12
)

// DefaultSegmentSize is the size after which a log starts a new segment.
const DefaultSegmentSize = 64 << 20

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Log is one topic's append-only log, split into segment files named after
// the index of their first entry.
type Log struct {
	mu          sync.Mutex
	dir         string
	segmentSize int64
	syncEach    bool

	f       *os.File
	size    int64
	next    uint64 // index of the next entry
	dirty   bool
	scratch []byte
}

// OpenLog opens (creating if needed) the log in dir and calls fn for every
// stored entry in order. A damaged record ends the replay: it and everything
// after it in that segment are cut off, since they were never acknowledged
// as durable as a whole.
func OpenLog(dir string, segmentSize int64, syncEach bool, fn func(checksum uint32, highestSeq uint64, data []byte) error) (*Log, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("create log directory: %w", err)
	}
	if segmentSize <= 0 {
		segmentSize = DefaultSegmentSize
	}
	l := &Log{dir: dir, segmentSize: segmentSize, syncEach: syncEach}
	segs, err := l.segments()
	if err != nil {
		return nil, err
	}
	for i, first := range segs {
		if first != l.next {
			return nil, fmt.Errorf("log %s: segment %d does not follow entry %d; move the directory away to start empty", dir, first, l.next)
		}
		last := i == len(segs)-1
		n, size, err := replaySegment(l.segPath(first), last, fn)
		if err != nil {
			return nil, err
		}
		l.next += n
		if last {
			l.size = size
		}
	}
	if len(segs) == 0 {
		return l, l.roll()
	}
	f, err := os.OpenFile(l.segPath(segs[len(segs)-1]), os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open log segment: %w", err)
	}
	l.f = f
	return l, nil
}

func (l *Log) segPath(first uint64) string {
	return filepath.Join(l.dir, fmt.Sprintf("%020d.log", first))
}

func (l *Log) segments() ([]uint64, error) {
	names, err := os.ReadDir(l.dir)
	if err != nil {
		return nil, fmt.Errorf("list log segments: %w", err)
	}
	var segs []uint64
	for _, e := range names {
		base, ok := strings.CutSuffix(e.Name(), ".log")
		if !ok {
			continue
		}
		n, err := strconv.ParseUint(base, 10, 64)
		if err != nil {
			continue
		}
		segs = append(segs, n)
	}
	sort.Slice(segs, func(i, j int) bool { return segs[i] < segs[j] })
	return segs, nil
}

// replaySegment reads one segment; in the last segment a damaged tail is
// truncated, elsewhere it is an error.
func replaySegment(path string, last bool, fn func(uint32, uint64, []byte) error) (count uint64, size int64, err error) {
	f, err := os.OpenFile(path, os.O_RDWR, 0o644)
	if err != nil {
		return 0, 0, fmt.Errorf("open log segment: %w", err)
	}
	defer f.Close()
	r := bufio.NewReaderSize(f, 1<<20)
	var hdr [recordHeader]byte
	for {
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			if errors.Is(err, io.EOF) {
				return count, size, nil
			}
			break
		}
		n := binary.BigEndian.Uint32(hdr[:])
		if n < bodyHeader || n > 1<<30 {
			break
		}
		body := make([]byte, n)
		if _, err := io.ReadFull(r, body); err != nil {
			break
		}
		if crc32.Checksum(body, castagnoli) != binary.BigEndian.Uint32(hdr[4:]) {
			break
		}
		if err := fn(binary.BigEndian.Uint32(body), binary.BigEndian.Uint64(body[4:]), body[bodyHeader:]); err != nil {
			return count, size, err
		}
		count++
		size += recordHeader + int64(n)
	}
	if !last {
		return count, size, fmt.Errorf("log segment %s is damaged at byte %d; restore it or move the directory away", path, size)
	}
	if err := f.Truncate(size); err != nil {
		return count, size, fmt.Errorf("cut damaged tail of %s: %w", path, err)
	}
	return count, size, nil
}

func (l *Log) roll() error {
	if l.f != nil {
		if err := l.f.Sync(); err != nil {
			return fmt.Errorf("sync log segment: %w", err)
		}
		if err := l.f.Close(); err != nil {
			return fmt.Errorf("close log segment: %w", err)
		}
	}
	f, err := os.OpenFile(l.segPath(l.next), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("create log segment: %w", err)
	}
	l.f, l.size = f, 0
	return syncDir(l.dir)
}

// Append writes one entry with a single write call, so a crash of the
// process alone never loses it; whether it is also synced to the disk before
// Append returns depends on the log's sync policy.
func (l *Log) Append(checksum uint32, highestSeq uint64, data []byte) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return errors.New("log is closed")
	}
	if l.size >= l.segmentSize {
		if err := l.roll(); err != nil {
			return err
		}
	}
	n := bodyHeader + len(data)
	b := l.scratch[:0]
	b = binary.BigEndian.AppendUint32(b, uint32(n))
	b = append(b, 0, 0, 0, 0)
	b = binary.BigEndian.AppendUint32(b, checksum)
	b = binary.BigEndian.AppendUint64(b, highestSeq)
	b = append(b, data...)
	binary.BigEndian.PutUint32(b[4:], crc32.Checksum(b[recordHeader:], castagnoli))
	l.scratch = b
	if _, err := l.f.Write(b); err != nil {
		return fmt.Errorf("append to log: %w", err)
	}
	l.size += int64(len(b))
	l.next++
	if l.syncEach {
		if err := l.f.Sync(); err != nil {
			return fmt.Errorf("sync log: %w", err)
		}
		return nil
	}
	l.dirty = true
	return nil
}

// Sync flushes appended entries to the disk if any are pending.
func (l *Log) Sync() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.dirty || l.f == nil {
		return nil
	}
	l.dirty = false
	if err := l.f.Sync(); err != nil {
		return fmt.Errorf("sync log: %w", err)
	}
	return nil
}

// Close syncs and closes the log.
func (l *Log) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return nil
	}
	err := l.f.Sync()
	if cerr := l.f.Close(); err == nil {
		err = cerr
	}
	l.f = nil
	if err != nil {
		return fmt.Errorf("close log: %w", err)
	}
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("open directory for sync: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync directory: %w", err)
	}
	return nil
}
