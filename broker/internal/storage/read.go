package storage

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// ErrActiveSegment is returned by RemoveSegment for the segment being
// written.
var ErrActiveSegment = errors.New("the segment being written cannot be removed")

// readers keeps one segment open for reading: consumers read a log mostly
// in order, so the segment read last is the one read next, and one open
// file per log keeps a broker with many topics within its descriptors.
type readers struct {
	dir string
	mu  sync.Mutex // held for each read, so the file is not swapped under it
	seg uint64
	f   *os.File // nil when none is open
}

func (r *readers) close() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.f != nil {
		r.f.Close()
		r.f = nil
	}
}

// readAt reads len(b) bytes of segment seg at off.
func (r *readers) readAt(seg uint64, b []byte, off int64) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.f == nil || r.seg != seg {
		if r.f != nil {
			r.f.Close()
			r.f = nil
		}
		f, err := os.Open(filepath.Join(r.dir, segName(seg)))
		if err != nil {
			return fmt.Errorf("open log segment %d: %w", seg, err)
		}
		r.f, r.seg = f, seg
	}
	if _, err := r.f.ReadAt(b, off); err != nil {
		return fmt.Errorf("read log segment %d at byte %d: %w", seg, off, err)
	}
	return nil
}

// forget closes seg if it is the open one, before it is removed.
func (r *readers) forget(seg uint64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.f != nil && r.seg == seg {
		r.f.Close()
		r.f = nil
	}
}

func segName(first uint64) string { return fmt.Sprintf("%020d.log", first) }

// ReadRange reads the records of segment seg that lie in bytes [from, to)
// with one read and calls fn for each in order; rec.Data is fn's to keep.
// from and to must be record boundaries, as Append and OpenLog report
// them. A record that fails its checksum is an error: the disk changed
// under the broker.
func (l *Log) ReadRange(seg uint64, from, to int64, fn func(Record) error) error {
	if to < from || to-from > MaxRecordSize+recordHeader+l.segmentSize {
		return fmt.Errorf("read log segment %d: bad range %d-%d", seg, from, to)
	}
	b := make([]byte, to-from)
	if err := l.readers.readAt(seg, b, from); err != nil {
		return err
	}
	for off := int64(0); off < int64(len(b)); {
		rec, n, err := decodeRecord(b[off:])
		if err != nil {
			return fmt.Errorf("log segment %d at byte %d: %w; restore the file from a backup or move the directory away", seg, from+off, err)
		}
		if err := fn(rec); err != nil {
			return err
		}
		off += n
	}
	return nil
}

// decodeRecord decodes the record at the start of b and returns its length.
func decodeRecord(b []byte) (Record, int64, error) {
	if len(b) < recordHeader {
		return Record{}, 0, errors.New("torn record header")
	}
	n := int64(binary.BigEndian.Uint32(b))
	if n < bodyHeader || recordHeader+n > int64(len(b)) {
		return Record{}, 0, fmt.Errorf("record length %d", n)
	}
	body := b[recordHeader : recordHeader+n]
	if crc32.Checksum(body, castagnoli) != binary.BigEndian.Uint32(b[4:]) {
		return Record{}, 0, errors.New("record checksum mismatch")
	}
	rec, ok := decodeBody(body)
	if !ok {
		return Record{}, 0, errors.New("producer name beyond record")
	}
	return rec, recordHeader + n, nil
}

// RemoveSegment deletes segment seg, whose entries are no longer wanted.
// Segments must be removed oldest first, so that those left follow each
// other; the directory is synced so a crash cannot bring one back.
func (l *Log) RemoveSegment(seg uint64) error {
	l.mu.Lock()
	active := l.f != nil && l.active == seg
	l.mu.Unlock()
	if active {
		return ErrActiveSegment
	}
	l.readers.forget(seg)
	if err := os.Remove(l.segPath(seg)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove log segment: %w", err)
	}
	return syncDir(l.dir)
}

// ModTime is when segment seg was last written, or the zero time if that
// cannot be told.
func (l *Log) ModTime(seg uint64) time.Time {
	fi, err := os.Stat(l.segPath(seg))
	if err != nil {
		return time.Time{}
	}
	return fi.ModTime()
}
