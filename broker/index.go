package broker

import (
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/meshc/meshc/broker/internal/storage"
)

// In memory a topic's entries are kept in chunks of at most this many
// entries or bytes, so acknowledged ones are freed a chunk at a time
// without a chunk costing much once empty.
const (
	memChunkEntries = 4096
	memChunkBytes   = 1 << 20
)

// errEntryGone reports an entry dropped by retention (or never stored).
var errEntryGone = errors.New("entry no longer stored")

// chunk is a run of consecutive entries of a topic: one log segment with a
// data directory, a block of entries held in memory without. The index
// keeps 8 bytes an entry; with a data directory the entries themselves are
// read from the segment.
type chunk struct {
	first    uint64   // id of the first entry; with a data directory the segment's name too
	base     int64    // bytes stored in the topic before this chunk, dropped ones included
	baseMsgs int64    // messages stored before this chunk, dropped ones included
	offsets  []uint32 // where each entry starts: its record in the segment, or its data counting the chunk's bytes
	msgs     []uint32 // messages in the chunk before each entry
	size     int64    // the segment's length, or the chunk's data bytes
	nmsgs    int64    // messages in the chunk
	entries  []entry  // in memory only: the entries
	// firstPublish is the first entry's publish time, for seeks by time;
	// last is when the chunk was last written, for time retention.
	firstPublish uint64
	last         time.Time
}

func (c *chunk) end() uint64 { return c.first + uint64(len(c.offsets)) }

// span is the byte range of entries [i, j) of the chunk.
func (c *chunk) span(i, j int) (from, to int64) {
	from = int64(c.offsets[i])
	if j < len(c.offsets) {
		return from, int64(c.offsets[j])
	}
	return from, c.size
}

// firstID is the oldest entry the topic still holds: t.mu is held.
func (t *topic) firstID() uint64 {
	if len(t.chunks) == 0 {
		return t.next
	}
	return t.chunks[0].first
}

// first is the oldest entry the topic still holds.
func (t *topic) first() uint64 {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.firstID()
}

// chunkOf finds the chunk holding id and id's place in it: t.mu is held.
func (t *topic) chunkOf(id uint64) (*chunk, int, bool) {
	if id >= t.next || id < t.firstID() {
		return nil, 0, false
	}
	// Reads are mostly near the end: look there first.
	last := t.chunks[len(t.chunks)-1]
	if id >= last.first {
		return last, int(id - last.first), true
	}
	i := sort.Search(len(t.chunks), func(i int) bool { return t.chunks[i].end() > id })
	c := t.chunks[i]
	return c, int(id - c.first), true
}

// addToIndex records entry id, stored at pos with a data directory: t.mu
// is held.
func (t *topic) addToIndex(id uint64, e entry, pos storage.Pos, now time.Time) {
	c := t.chunkFor(e, pos)
	if len(c.offsets) == 0 {
		c.first, c.firstPublish = id, e.publishTime
	}
	before := c.size
	if t.onDisk() {
		c.offsets = append(c.offsets, uint32(pos.Offset))
		c.size = pos.End
	} else {
		c.offsets = append(c.offsets, uint32(c.size))
		c.entries = append(c.entries, e)
		c.size += int64(len(e.data))
	}
	c.msgs = append(c.msgs, uint32(c.nmsgs))
	c.nmsgs += int64(e.numMessages)
	c.last = now
	t.next = id + 1
	t.storedSize.Add(c.size - before)
	t.quota.appended.Add(c.size - before)
}

// chunkFor returns the chunk the next entry goes to, starting one when a
// segment or an in-memory chunk is full.
func (t *topic) chunkFor(e entry, pos storage.Pos) *chunk {
	if n := len(t.chunks); n > 0 {
		c := t.chunks[n-1]
		if t.onDisk() && c.first == pos.Segment {
			return c
		}
		if !t.onDisk() && len(c.offsets) < memChunkEntries && c.size+int64(len(e.data)) <= memChunkBytes {
			return c
		}
	}
	c := &chunk{}
	if n := len(t.chunks); n > 0 {
		prev := t.chunks[n-1]
		c.base, c.baseMsgs = prev.base+prev.size, prev.baseMsgs+prev.nmsgs
	} else {
		c.base, c.baseMsgs = t.droppedBytes, t.droppedMsgs
	}
	t.chunks = append(t.chunks, c)
	return c
}

// msgsBefore counts the messages stored before entry id, dropped ones
// included; id may be the next entry: t.mu is held.
func (t *topic) msgsBefore(id uint64) int64 {
	if c, i, ok := t.chunkOf(id); ok {
		return c.baseMsgs + int64(c.msgs[i])
	}
	if id < t.firstID() {
		return t.droppedMsgs
	}
	if n := len(t.chunks); n > 0 {
		c := t.chunks[n-1]
		return c.baseMsgs + c.nmsgs
	}
	return t.droppedMsgs
}

// bytesBefore is msgsBefore in stored bytes.
func (t *topic) bytesBefore(id uint64) int64 {
	if c, i, ok := t.chunkOf(id); ok {
		return c.base + int64(c.offsets[i])
	}
	if id < t.firstID() {
		return t.droppedBytes
	}
	if n := len(t.chunks); n > 0 {
		c := t.chunks[n-1]
		return c.base + c.size
	}
	return t.droppedBytes
}

// messagesIn counts the messages of entries [from, to).
func (t *topic) messagesIn(from, to uint64) int64 {
	t.mu.RLock()
	defer t.mu.RUnlock()
	if to <= from {
		return 0
	}
	return t.msgsBefore(to) - t.msgsBefore(from)
}

// readEntry returns entry id from memory, the read cache or the disk.
func (t *topic) readEntry(id uint64) (entry, error) {
	if e, ok, err := t.peekEntry(id); ok || err != nil {
		return e, err
	}
	es, err := t.readEntries(id, 0)
	if err != nil {
		return entry{}, err
	}
	return es[0], nil
}

// peekEntry returns entry id if it is at hand, in memory or in the read
// cache; ok false means it must be read from the disk. A dropped entry is
// errEntryGone.
func (t *topic) peekEntry(id uint64) (e entry, ok bool, err error) {
	t.mu.RLock()
	c, i, found := t.chunkOf(id)
	if found && !t.onDisk() {
		e = c.entries[i]
	}
	t.mu.RUnlock()
	switch {
	case !found:
		return entry{}, false, errEntryGone
	case !t.onDisk():
		return e, true, nil
	}
	e, ok = t.b.cache.get(t, id)
	return e, ok, nil
}

// readEntries reads entries from id on from the disk with one read: as
// many of id's segment as start within maxBytes of it, at least one, and
// none past the visible entries unless id itself is.
func (t *topic) readEntries(id uint64, maxBytes int64) ([]entry, error) {
	t.mu.RLock()
	c, i, found := t.chunkOf(id)
	if !found || !t.onDisk() {
		t.mu.RUnlock()
		return nil, errEntryGone
	}
	limit := len(c.offsets)
	if c.end() > t.visible && t.visible > id {
		limit = int(t.visible - c.first)
	}
	j := i + 1
	for j < limit && int64(c.offsets[j])-int64(c.offsets[i]) < maxBytes {
		j++
	}
	seg := c.first
	from, to := c.span(i, j)
	t.mu.RUnlock()
	out := make([]entry, 0, j-i)
	err := t.log.ReadRange(seg, from, to, func(rec storage.Record) error {
		e, _, err := newEntry(rec.Checksum, rec.Data)
		out = append(out, e)
		return err
	})
	switch {
	case err != nil && id < t.first():
		return nil, errEntryGone // dropped while it was read
	case err != nil:
		return nil, fmt.Errorf("read entry %d of %s: %w", id, t.name, err)
	case len(out) != j-i:
		return nil, fmt.Errorf("read entry %d of %s: %d records where the index has %d; restart the broker to rebuild it", id, t.name, len(out), j-i)
	}
	return out, nil
}

// scanEntries calls fn for every entry in [from, to) still stored, reading
// the disk a megabyte at a time, without holding the topic's lock.
func (t *topic) scanEntries(from, to uint64, fn func(id uint64, e entry)) error {
	for id := max(from, t.first()); id < to; {
		e, ok, err := t.peekEntry(id)
		if ok {
			fn(id, e)
			id++
			continue
		}
		var es []entry
		if err == nil {
			es, err = t.readEntries(id, readAheadBytes)
		}
		if errors.Is(err, errEntryGone) {
			id = max(id+1, t.first())
			continue
		}
		if err != nil {
			return err
		}
		for _, e := range es {
			if id < to {
				fn(id, e)
			}
			id++
		}
	}
	return nil
}

// onDisk tells whether the topic's entries live in a log on the disk; it
// holds while the log is being replayed too.
func (t *topic) onDisk() bool { return t.dir != "" }
