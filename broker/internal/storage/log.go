package storage

import (
	"bufio"
	"bytes"
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

// Segment layout: the 8-byte magic segmentMagic, then records. A record is
// [body length u32][crc32c of body u32][body], where body is
// [wire checksum u32][highest sequence id u64][producer name length u16]
// [producer name][headers and payload]. The record checksum tells a torn or
// corrupt tail from data; the wire checksum is stored so entries go back out
// unchanged, and the producer name and sequence id so the deduplication
// table can be rebuilt exactly from the log.
const (
	segmentMagic = "MSHLOG01"
	recordHeader = 8
	bodyHeader   = 14
	// MaxRecordSize bounds a record's body; a length above it is damage.
	MaxRecordSize = 1 << 30
	// MaxProducerName is the longest producer name a record holds.
	MaxProducerName = 1<<16 - 1
)

// DefaultSegmentSize is the size after which a log starts a new segment.
const DefaultSegmentSize = 64 << 20

// MaxSegmentSize caps the segment size, so that a record's offset in its
// segment fits the 32 bits an index keeps per entry.
const MaxSegmentSize = 1 << 30

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Record is one stored entry.
type Record struct {
	Checksum   uint32 // the wire checksum of Data
	Producer   string // the producer name it was published under
	HighestSeq uint64 // the highest sequence id it carries
	Data       []byte // [metadata size][metadata][payload], as received
}

// Pos is where a record lies: the segment, named after the index of its
// first entry, and the record's first byte and the byte after it.
type Pos struct {
	Segment uint64
	Offset  int64
	End     int64
}

// Log is one topic's append-only log, split into segment files named after
// the index of their first entry. Segments before the one being written
// may be removed (RemoveSegment); the log then starts at the first left.
type Log struct {
	mu          sync.Mutex
	dir         string
	segmentSize int64
	readers     readers // open segments for ReadRange

	f       *os.File
	active  uint64 // the segment f writes
	size    int64
	next    uint64 // index of the next entry
	dirty   bool
	scratch []byte

	// Group commit: appends that wait to be synced, and segments rolled
	// over while an fsync may still be running on them.
	waiting []func(error)
	retired []*os.File
	kick    chan struct{} // nil until the first Append with a callback
	stopped chan struct{}
	closing bool
}

// OpenLog opens (creating if needed) the log in dir and calls fn for every
// stored record in order, with where it lies; rec.Data is fn's to keep. A
// damaged record ends
// the replay: in the last segment it and everything after it are cut off,
// since no append after it was ever reported done; in an earlier segment it
// is an error.
func OpenLog(dir string, segmentSize int64, fn func(rec Record, pos Pos) error) (*Log, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("create log directory: %w", err)
	}
	if segmentSize <= 0 {
		segmentSize = DefaultSegmentSize
	}
	l := &Log{dir: dir, segmentSize: min(segmentSize, MaxSegmentSize)}
	l.readers.dir = dir
	segs, err := l.segments()
	if err != nil {
		return nil, err
	}
	if len(segs) > 0 {
		l.next = segs[0] // earlier segments were removed
	}
	for i, first := range segs {
		if first != l.next {
			return nil, fmt.Errorf("log %s: segment %d does not follow entry %d; move the directory away to start empty", dir, first, l.next)
		}
		last := i == len(segs)-1
		n, size, err := replaySegment(l.segPath(first), last, func(rec Record, off, end int64) error {
			return fn(rec, Pos{Segment: first, Offset: off, End: end})
		})
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
	l.f, l.active = f, segs[len(segs)-1]
	return l, nil
}

// Len is the index of the next entry: every entry ever appended, those of
// removed segments included.
func (l *Log) Len() uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.next
}

func (l *Log) segPath(first uint64) string {
	return filepath.Join(l.dir, segName(first))
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
func replaySegment(path string, last bool, fn func(rec Record, off, end int64) error) (count uint64, size int64, err error) {
	f, err := os.OpenFile(path, os.O_RDWR, 0o644)
	if err != nil {
		return 0, 0, fmt.Errorf("open log segment: %w", err)
	}
	defer f.Close()
	r := bufio.NewReaderSize(f, 1<<20)
	count, size, err = readSegment(r, fn)
	var damaged *DamageError
	switch {
	case err == nil:
		return count, size, nil
	case !errors.As(err, &damaged):
		return count, size, fmt.Errorf("log segment %s: %w", path, err)
	case damaged.BadMagic:
		return count, size, fmt.Errorf("log segment %s is not a meshc broker log of format %s; move the directory away or use the meshc version that wrote it", path, segmentMagic)
	case !last:
		return count, size, fmt.Errorf("log segment %s is damaged at byte %d; restore it or move the directory away", path, size)
	}
	if size == 0 {
		// Even the magic was torn: start the segment again.
		if err := f.Truncate(0); err != nil {
			return 0, 0, fmt.Errorf("cut damaged tail of %s: %w", path, err)
		}
		if _, err := f.WriteAt([]byte(segmentMagic), 0); err != nil {
			return 0, 0, fmt.Errorf("rewrite start of %s: %w", path, err)
		}
		return 0, int64(len(segmentMagic)), f.Sync()
	}
	if err := f.Truncate(size); err != nil {
		return count, size, fmt.Errorf("cut damaged tail of %s: %w", path, err)
	}
	return count, size, f.Sync()
}

// DamageError says where a segment stops holding whole, intact records.
type DamageError struct {
	Offset   int64 // bytes of intact data before the damage
	BadMagic bool  // the segment does not start with the magic
	Reason   string
}

func (e *DamageError) Error() string {
	return fmt.Sprintf("damaged at byte %d: %s", e.Offset, e.Reason)
}

// ReadSegment reads a segment's records from r, calling fn for each, and
// returns how many it read and the bytes they span, magic included. A
// segment that ends in the middle of a record or holds a record that fails
// its checksum yields a *DamageError after the intact records; an error
// from fn is returned as is. It never panics, whatever r holds.
func ReadSegment(r io.Reader, fn func(Record) error) (count uint64, size int64, err error) {
	return readSegment(r, func(rec Record, _, _ int64) error { return fn(rec) })
}

// readSegment is ReadSegment telling fn where each record lies.
func readSegment(r io.Reader, fn func(rec Record, off, end int64) error) (count uint64, size int64, err error) {
	var magic [len(segmentMagic)]byte
	if n, err := io.ReadFull(r, magic[:]); err != nil {
		if n == 0 && errors.Is(err, io.EOF) {
			return 0, 0, &DamageError{Reason: "empty segment"}
		}
		return 0, 0, &DamageError{Reason: "torn segment magic"}
	}
	if string(magic[:]) != segmentMagic {
		return 0, 0, &DamageError{BadMagic: true, Reason: fmt.Sprintf("magic %q", magic[:])}
	}
	size = int64(len(segmentMagic))
	var hdr [recordHeader]byte
	for {
		if n, err := io.ReadFull(r, hdr[:]); err != nil {
			if n == 0 && errors.Is(err, io.EOF) {
				return count, size, nil
			}
			return count, size, &DamageError{Offset: size, Reason: "torn record header"}
		}
		n := binary.BigEndian.Uint32(hdr[:])
		if n < bodyHeader || n > MaxRecordSize {
			return count, size, &DamageError{Offset: size, Reason: fmt.Sprintf("record length %d", n)}
		}
		body, err := readBody(r, int(n))
		if err != nil {
			return count, size, &DamageError{Offset: size, Reason: "torn record"}
		}
		if crc32.Checksum(body, castagnoli) != binary.BigEndian.Uint32(hdr[4:]) {
			return count, size, &DamageError{Offset: size, Reason: "record checksum mismatch"}
		}
		rec, ok := decodeBody(body)
		if !ok {
			return count, size, &DamageError{Offset: size, Reason: "producer name beyond record"}
		}
		end := size + recordHeader + int64(n)
		if err := fn(rec, size, end); err != nil {
			return count, size, err
		}
		count++
		size = end
	}
}

// readBody reads n bytes. A large n is read in steps, so a damaged length
// field costs no more memory than the bytes that are really there.
func readBody(r io.Reader, n int) ([]byte, error) {
	if n <= 1<<20 {
		body := make([]byte, n)
		_, err := io.ReadFull(r, body)
		return body, err
	}
	var buf bytes.Buffer
	if _, err := io.CopyN(&buf, r, int64(n)); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func decodeBody(body []byte) (Record, bool) {
	rec := Record{Checksum: binary.BigEndian.Uint32(body), HighestSeq: binary.BigEndian.Uint64(body[4:])}
	pn := int(binary.BigEndian.Uint16(body[12:]))
	if bodyHeader+pn > len(body) {
		return rec, false
	}
	rec.Producer = string(body[bodyHeader : bodyHeader+pn])
	rec.Data = body[bodyHeader+pn:]
	return rec, true
}

// AppendRecord appends rec's record encoding to dst.
func AppendRecord(dst []byte, rec Record) []byte {
	start := len(dst)
	n := bodyHeader + len(rec.Producer) + len(rec.Data)
	dst = binary.BigEndian.AppendUint32(dst, uint32(n))
	dst = append(dst, 0, 0, 0, 0)
	dst = binary.BigEndian.AppendUint32(dst, rec.Checksum)
	dst = binary.BigEndian.AppendUint64(dst, rec.HighestSeq)
	dst = binary.BigEndian.AppendUint16(dst, uint16(len(rec.Producer)))
	dst = append(dst, rec.Producer...)
	dst = append(dst, rec.Data...)
	binary.BigEndian.PutUint32(dst[start+4:], crc32.Checksum(dst[start+recordHeader:], castagnoli))
	return dst
}

// roll starts a new segment; with retire the old one is left open for the
// group commit to sync and close, since an fsync may be running on it.
func (l *Log) roll() error {
	if l.f != nil {
		if l.kick != nil {
			l.retired = append(l.retired, l.f)
		} else if err := syncClose(l.f); err != nil {
			return err
		}
		l.f = nil
	}
	path := l.segPath(l.next)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("create log segment: %w", err)
	}
	if _, err := f.Write([]byte(segmentMagic)); err != nil {
		f.Close()
		return fmt.Errorf("create log segment: %w", err)
	}
	l.f, l.active, l.size, l.dirty = f, l.next, int64(len(segmentMagic)), true
	return syncDir(l.dir)
}

func syncClose(f *os.File) error {
	err := f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("sync and close log segment: %w", err)
	}
	return nil
}

// Append writes one record with a single write call, so a crash of the
// process alone never loses it, and returns where it lies. With done nil the record reaches the disk
// on the next Sync (or whenever the operating system writes it). With done
// set, a background group commit syncs it and then calls done (with the
// error, if the sync failed), in the order of the appends; one fsync covers
// every record appended while the previous one ran.
func (l *Log) Append(rec Record, done func(error)) (Pos, error) {
	if len(rec.Producer) > MaxProducerName {
		return Pos{}, fmt.Errorf("producer name of %d bytes is longer than %d", len(rec.Producer), MaxProducerName)
	}
	if bodyHeader+len(rec.Producer)+len(rec.Data) > MaxRecordSize {
		return Pos{}, fmt.Errorf("entry of %d bytes is larger than a log record may be", len(rec.Data))
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil || l.closing {
		return Pos{}, errors.New("log is closed")
	}
	if l.size >= l.segmentSize {
		if err := l.roll(); err != nil {
			return Pos{}, err
		}
	}
	b := AppendRecord(l.scratch[:0], rec)
	if cap(b) <= 1<<20 {
		l.scratch = b // keep small buffers only
	}
	if _, err := l.f.Write(b); err != nil {
		return Pos{}, fmt.Errorf("append to log: %w", err)
	}
	pos := Pos{Segment: l.active, Offset: l.size, End: l.size + int64(len(b))}
	l.size = pos.End
	l.next++
	l.dirty = true
	if done != nil {
		l.queueLocked(done)
	}
	return pos, nil
}

// Barrier calls done, from the group commit, once every record appended
// before it with a callback is synced: a reply that must not overtake
// theirs waits for it. With no such record pending it calls done at once.
func (l *Log) Barrier(done func()) {
	l.mu.Lock()
	if l.kick == nil || l.closing {
		l.mu.Unlock()
		done()
		return
	}
	l.queueLocked(func(error) { done() })
	l.mu.Unlock()
}

func (l *Log) queueLocked(done func(error)) {
	if l.kick == nil {
		l.kick, l.stopped = make(chan struct{}, 1), make(chan struct{})
		go l.groupCommit(l.kick, l.stopped)
	}
	l.waiting = append(l.waiting, done)
	select {
	case l.kick <- struct{}{}:
	default:
	}
}

// groupCommit syncs the log whenever appends wait for it, until Close.
func (l *Log) groupCommit(kick <-chan struct{}, stopped chan<- struct{}) {
	defer close(stopped)
	for range kick {
		l.commitWaiting()
	}
	l.commitWaiting()
}

func (l *Log) commitWaiting() {
	l.mu.Lock()
	waiting, retired, f := l.waiting, l.retired, l.f
	l.waiting, l.retired = nil, nil
	if len(waiting) > 0 {
		l.dirty = false
	}
	l.mu.Unlock()
	var err error
	for _, r := range retired {
		err = errors.Join(err, syncClose(r))
	}
	if len(waiting) > 0 && f != nil {
		if serr := f.Sync(); serr != nil {
			err = errors.Join(err, fmt.Errorf("sync log: %w", serr))
		}
	}
	for _, done := range waiting {
		done(err)
	}
}

// Sync flushes appended records to the disk if any are pending.
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

// Close waits for the group commit, then syncs and closes the log.
func (l *Log) Close() error {
	l.mu.Lock()
	kick, stopped := l.kick, l.stopped
	l.kick, l.closing = nil, true
	l.mu.Unlock()
	if kick != nil {
		close(kick)
		<-stopped
	}
	l.readers.close()
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return nil
	}
	var err error
	for _, r := range l.retired {
		err = errors.Join(err, syncClose(r))
	}
	l.retired = nil
	err = errors.Join(err, syncClose(l.f))
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
