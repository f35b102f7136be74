package broker

import (
	"errors"
	"fmt"
	"maps"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/meshc/meshc/broker/internal/storage"
	"github.com/meshc/meshc/broker/internal/wire"
)

// ledgerID is the ledger part of every message id. One topic is one ledger
// here; entry ids count from zero.
const ledgerID = 1

// entry is one stored SEND: a single message or a whole batch.
type entry struct {
	data        []byte // [metadata size][metadata][payload], as received
	checksum    uint32
	numMessages int32
	keyHash     uint32 // of the entry's key: a batch's first message's
	batched     bool   // an uncompressed batch, whose messages' keys can be read
	publishTime uint64
	deliverAt   int64 // unix milliseconds: delayed delivery (delayed.go); 0 for none
}

type topic struct {
	b         *Broker
	name      string
	partition int32 // -1 unless a partition of a partitioned topic
	dir       string

	mu sync.RWMutex
	// chunks index the entries still stored, oldest first (index.go); next
	// is the id of the next entry, and the dropped counts are what went
	// before the first chunk.
	chunks       []*chunk
	next         uint64
	droppedBytes int64
	droppedMsgs  int64
	visible      uint64 // entries below are durable as the fsync policy asks, so they may be delivered
	log          *storage.Log
	dedup        map[string]int64
	subs         map[string]*subscription
	subList      []*subscription // copy-on-write view of subs for notification
	schemas      []schemaVersion
	compact      *compactIndex // nil until a compacted read or compaction asks
	compactMu    sync.Mutex    // one build of the compacted view at a time

	quota     quotaState // backlog quota (retention.go)
	trimMu    sync.Mutex // one trim at a time: each writes dedup.json
	maintStop chan struct{}
	maintDone chan struct{}
	closeOnce sync.Once

	producers  map[string]*producer // connected producers by name (access.go)
	access     accessState
	msgIn      atomic.Int64
	bytesIn    atomic.Int64
	msgOut     atomic.Int64
	bytesOut   atomic.Int64
	storedSize atomic.Int64
}

func topicDir(dataDir, name string) string {
	return filepath.Join(dataDir, "topics", url.QueryEscape(name))
}

// openTopic creates a topic or loads it from the data directory.
func openTopic(b *Broker, name string, partition int32) (*topic, error) {
	t := &topic{b: b, name: name, partition: partition, dedup: map[string]int64{}, producers: map[string]*producer{}, subs: map[string]*subscription{}}
	if b.cfg.DataDir != "" {
		if err := t.load(); err != nil {
			return nil, err
		}
	}
	t.startMaintenance()
	return t, nil
}

// load reads the topic's data directory: the log is replayed to rebuild
// the index and the deduplication table, its payloads left on the disk.
func (t *topic) load() error {
	t.dir = topicDir(t.b.cfg.DataDir, t.name)
	// The table saved when segments were dropped covers their records.
	if _, err := storage.ReadJSON(t.dedupPath(), &t.dedup); err != nil {
		return err
	}
	if _, err := os.Stat(t.compactedPath()); err == nil {
		t.compact = &compactIndex{latest: map[string]uint64{}}
	}
	l, err := storage.OpenLog(filepath.Join(t.dir, "log"), t.b.cfg.SegmentSize, t.replay)
	if err != nil {
		return fmt.Errorf("open topic %s: %w", t.name, err)
	}
	t.log = l
	t.next = max(t.next, l.Len())
	t.visible = t.next
	for _, c := range t.chunks {
		c.last = l.ModTime(c.first)
	}
	if _, err := storage.ReadJSON(filepath.Join(t.dir, "schemas.json"), &t.schemas); err != nil {
		return err
	}
	return t.loadCursors()
}

func (t *topic) dedupPath() string     { return filepath.Join(t.dir, "dedup.json") }
func (t *topic) compactedPath() string { return filepath.Join(t.dir, "compacted") }

func (t *topic) replay(rec storage.Record, pos storage.Pos) error {
	id := t.next
	if n := len(t.chunks); n == 0 || t.chunks[n-1].first != pos.Segment {
		id = pos.Segment // a segment's first record: segments are named after it
	}
	e, _, err := newEntry(rec.Checksum, rec.Data)
	if err != nil {
		return fmt.Errorf("stored entry %d of %s: %w", id, t.name, err)
	}
	if t.compact != nil {
		t.compact.add(id, e)
	}
	e.data = nil // the index keeps where it is, not what
	t.addToIndex(id, e, pos, time.Time{})
	if last, ok := t.dedup[rec.Producer]; !ok || int64(rec.HighestSeq) > last {
		t.dedup[rec.Producer] = int64(rec.HighestSeq)
	}
	return nil
}

func newEntry(checksum uint32, data []byte) (entry, wire.MetaSummary, error) {
	f := wire.Frame{HeadersAndPayload: data}
	meta, err := wire.ScanMetadata(f.Metadata())
	if err != nil {
		return entry{}, meta, err
	}
	e := entry{data: data, checksum: checksum, numMessages: max(meta.NumMessages, 1), publishTime: meta.PublishTime, deliverAt: meta.DeliverAtTime}
	e.keyHash = hashKey(meta.Key())
	// A batch of one message too: pulsar-client-go puts its messages'
	// ordering keys in the batch alone, not in the entry's metadata.
	e.batched = meta.Batched && !meta.Compressed
	return e, meta, nil
}

func (t *topic) loadCursors() error {
	dir := filepath.Join(t.dir, "subscriptions")
	files, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("list subscriptions of %s: %w", t.name, err)
	}
	for _, f := range files {
		name, err := url.QueryUnescape(f.Name())
		if err != nil || filepath.Ext(f.Name()) == ".tmp" {
			continue
		}
		var c storage.Cursor
		if _, err := storage.ReadJSON(filepath.Join(dir, f.Name()), &c); err != nil {
			return err
		}
		// Entries below the first left were acknowledged by every
		// subscription when they were dropped, whatever a cursor written
		// before that says.
		c.MarkDelete = max(c.MarkDelete, t.firstID())
		c.Acked = slices.DeleteFunc(c.Acked, func(id uint64) bool { return id < c.MarkDelete })
		maps.DeleteFunc(c.Partial, func(id uint64, _ []int64) bool { return id < c.MarkDelete })
		s := newSubscription(t, name, subTypeFromString(c.Type), true, &c)
		t.subs[name] = s
	}
	t.rebuildSubList()
	return nil
}

func (t *topic) rebuildSubList() {
	l := make([]*subscription, 0, len(t.subs))
	for _, s := range t.subs {
		l = append(l, s)
	}
	sort.Slice(l, func(i, j int) bool { return l[i].name < l[j].name })
	t.subList = l
}

// publishResult is what a SEND gets back.
type publishResult struct {
	entryID   uint64
	duplicate bool
}

// publish stores one SEND unless it is a duplicate of earlier ones from the
// same producer name (every sequence id in it at or below the highest one
// stored), then calls reply. Under FsyncAlways the entry is
// delivered and reply called only once the log is synced, by the group
// commit; otherwise both happen before publish returns. Replies to one
// producer keep the order of its SENDs, duplicates included.
func (t *topic) publish(producer string, seq, highest uint64, f *wire.Frame, reply func(publishResult, error)) {
	e, meta, err := newEntry(f.Checksum, f.HeadersAndPayload)
	if err != nil {
		reply(publishResult{}, err)
		return
	}
	highest = max(highest, batchHighest(seq, meta, f))
	if err := t.admit(producer, highest, len(f.HeadersAndPayload)); err != nil {
		reply(publishResult{}, err)
		return
	}
	t.mu.Lock()
	// A batch that is partly new is stored whole: its new messages must not
	// be lost, so its old ones are delivered again (at-least-once).
	if last, ok := t.dedup[producer]; ok && int64(highest) <= last {
		t.mu.Unlock()
		if t.log != nil && t.b.cfg.Fsync == FsyncAlways {
			t.log.Barrier(func() { reply(publishResult{duplicate: true}, nil) })
			return
		}
		reply(publishResult{duplicate: true}, nil)
		return
	}
	e.data = f.HeadersAndPayload
	if t.log == nil || t.b.cfg.ReadCacheSize > 0 {
		// Kept beyond this call: the frame's buffer is reused.
		e.data = append(make([]byte, 0, len(f.HeadersAndPayload)), f.HeadersAndPayload...)
	}
	id := t.next
	var synced func(error)
	if t.log != nil && t.b.cfg.Fsync == FsyncAlways {
		synced = func(err error) {
			if err == nil {
				t.makeVisible(id + 1)
			}
			reply(publishResult{entryID: id}, err)
		}
	}
	var pos storage.Pos
	if t.log != nil {
		rec := storage.Record{Checksum: e.checksum, Producer: producer, HighestSeq: highest, Data: e.data}
		if pos, err = t.log.Append(rec, synced); err != nil {
			t.mu.Unlock()
			reply(publishResult{}, err)
			return
		}
		if t.b.cfg.ReadCacheSize > 0 {
			t.b.cache.put(t, id, e, t.b.cfg.ReadCacheSize)
		}
	}
	t.addToIndex(id, e, pos, time.Now())
	t.dedup[producer] = int64(highest)
	if t.compact != nil {
		t.compact.add(id, e)
	}
	t.msgIn.Add(int64(e.numMessages))
	t.bytesIn.Add(int64(len(e.data)))
	if synced != nil {
		t.mu.Unlock()
		return
	}
	t.visible = id + 1
	subs := t.subList
	t.mu.Unlock()
	for _, s := range subs {
		s.notify()
	}
	reply(publishResult{entryID: id}, nil)
}

// batchHighest is the sequence id a batch is deduplicated by: its highest,
// which clients such as pulsar-client-go do not send, read from the
// messages of an uncompressed batch, else the lowest it can be (ids rise by
// at least one per message). Without it a producer restarted after a batch
// would be told a sequence id inside that batch, and a replay of the
// batch's later messages be stored twice.
//
// A batch of one key whose ids are not consecutive comes from a key-based
// batcher (pulsar-client-go's KeyBasedBatchBuilder): each key's messages
// are a batch, the batches of one flush sent in the order of their first
// ids, so their ids interleave. It is deduplicated by its first id, as
// Pulsar does every batch: by its highest, the next batch of the flush
// would be taken for a duplicate and lost.
func batchHighest(seq uint64, meta wire.MetaSummary, f *wire.Frame) uint64 {
	if !meta.Batched {
		return seq
	}
	n := uint64(max(meta.NumMessages, 1))
	if meta.Compressed {
		return seq + n - 1
	}
	var highest uint64
	var key []byte
	found, oneKey := false, true
	err := wire.ScanBatch(f.Payload(), func(m wire.BatchMessage) {
		if m.HasSequence && (!found || m.SequenceID > highest) {
			highest, found = m.SequenceID, true
		}
		if key == nil {
			key = m.Key
		}
		oneKey = oneKey && len(m.Key) > 0 && string(m.Key) == string(key)
	})
	switch {
	case err != nil || !found:
		return seq + n - 1
	case oneKey && highest >= seq && highest-seq+1 > n:
		return seq
	}
	return highest
}

// makeVisible lets entries below n be delivered and wakes the
// subscriptions.
func (t *topic) makeVisible(n uint64) {
	t.mu.Lock()
	if n > t.visible {
		t.visible = n
	}
	subs := t.subList
	t.mu.Unlock()
	for _, s := range subs {
		s.notify()
	}
}

// readable is the number of entries that may be delivered.
func (t *topic) readable() uint64 {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.visible
}

// lastSequence is the highest sequence id stored for a producer name, or -1.
func (t *topic) lastSequence(producer string) int64 {
	t.mu.RLock()
	defer t.mu.RUnlock()
	if v, ok := t.dedup[producer]; ok {
		return v
	}
	return -1
}

// length is the id of the next entry: every entry ever stored, dropped
// ones included.
func (t *topic) length() uint64 {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.next
}

// entryAt returns entry i, if it is still stored and can be read.
func (t *topic) entryAt(i uint64) (entry, bool) {
	e, err := t.readEntry(i)
	if err != nil && !errors.Is(err, errEntryGone) {
		t.b.log.Error("reading a stored entry failed", "topic", t.name, "err", err)
	}
	return e, err == nil
}

// firstAtOrAfter returns the first entry still stored that was published
// at or after ms: the chunks are searched by their first entries' publish
// times, then the one chunk entry by entry.
func (t *topic) firstAtOrAfter(ms uint64) uint64 {
	t.mu.RLock()
	k := sort.Search(len(t.chunks), func(i int) bool { return t.chunks[i].firstPublish >= ms })
	if k == 0 {
		defer t.mu.RUnlock()
		return t.firstID()
	}
	c := t.chunks[k-1]
	lo, hi := c.first+1, c.end()
	t.mu.RUnlock()
	return lo + uint64(sort.Search(int(hi-lo), func(i int) bool {
		e, err := t.readEntry(lo + uint64(i))
		return err != nil || e.publishTime >= ms
	}))
}

// subscription returns the named subscription, creating it at the initial
// position if it does not exist, and reports whether it created it.
func (t *topic) subscription(name string, typ wire.CommandSubscribe_SubType, durable bool, start uint64) (*subscription, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if s, ok := t.subs[name]; ok {
		return s, false
	}
	s := newSubscription(t, name, typ, durable, &storage.Cursor{MarkDelete: max(start, t.firstID())})
	s.dirty = true
	t.subs[name] = s
	t.rebuildSubList()
	return s, true
}

func (t *topic) removeSubscription(s *subscription) error {
	t.mu.Lock()
	if t.subs[s.name] == s {
		delete(t.subs, s.name)
		t.rebuildSubList()
	}
	t.mu.Unlock()
	s.stop()
	if t.dir == "" || !s.durable {
		return nil
	}
	err := os.Remove(s.cursorPath())
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove cursor of %s: %w", s.name, err)
	}
	return nil
}

func (t *topic) subscriptions() []*subscription {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.subList
}

// flush syncs the log and writes changed cursors.
func (t *topic) flush() error {
	var errs []error
	if t.log != nil {
		errs = append(errs, t.log.Sync())
	}
	for _, s := range t.subscriptions() {
		errs = append(errs, s.saveCursor())
	}
	return errors.Join(errs...)
}

func (t *topic) close() error {
	t.stopMaintenance()
	t.b.cache.clear() // topics close only with the broker
	for _, s := range t.subscriptions() {
		s.stop()
	}
	err := t.flush()
	if t.log != nil {
		err = errors.Join(err, t.log.Close())
	}
	return err
}
