package broker

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"sync/atomic"

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
}

type topic struct {
	b         *Broker
	name      string
	partition int32 // -1 unless a partition of a partitioned topic
	dir       string

	mu      sync.RWMutex
	entries []entry
	visible uint64 // entries below are durable as the fsync policy asks, so they may be delivered
	log     *storage.Log
	dedup   map[string]int64
	subs    map[string]*subscription
	subList []*subscription // copy-on-write view of subs for notification
	schemas []schemaVersion
	compact *compactIndex // nil until a compacted read or compaction asks

	producers  map[string]bool // names of connected producers
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
	t := &topic{b: b, name: name, partition: partition, dedup: map[string]int64{}, producers: map[string]bool{}, subs: map[string]*subscription{}}
	if b.cfg.DataDir == "" {
		return t, nil
	}
	t.dir = topicDir(b.cfg.DataDir, name)
	l, err := storage.OpenLog(filepath.Join(t.dir, "log"), b.cfg.SegmentSize, t.replay)
	if err != nil {
		return nil, fmt.Errorf("open topic %s: %w", name, err)
	}
	t.log = l
	if _, err := storage.ReadJSON(filepath.Join(t.dir, "schemas.json"), &t.schemas); err != nil {
		return nil, err
	}
	if err := t.loadCursors(); err != nil {
		return nil, err
	}
	return t, nil
}

func (t *topic) replay(rec storage.Record) error {
	e, _, err := newEntry(rec.Checksum, rec.Data)
	if err != nil {
		return fmt.Errorf("stored entry %d of %s: %w", len(t.entries), t.name, err)
	}
	t.entries = append(t.entries, e)
	t.visible = uint64(len(t.entries))
	t.storedSize.Add(int64(len(rec.Data)))
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
	e := entry{data: data, checksum: checksum, numMessages: max(meta.NumMessages, 1), publishTime: meta.PublishTime}
	e.keyHash = hashKey(meta.Key())
	e.batched = meta.Batched && !meta.Compressed && meta.NumMessages > 1
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
	highest = max(highest, seq, batchHighest(seq, meta, f))
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
	e.data = append(make([]byte, 0, len(f.HeadersAndPayload)), f.HeadersAndPayload...)
	id := uint64(len(t.entries))
	var synced func(error)
	if t.log != nil && t.b.cfg.Fsync == FsyncAlways {
		synced = func(err error) {
			if err == nil {
				t.makeVisible(id + 1)
			}
			reply(publishResult{entryID: id}, err)
		}
	}
	if t.log != nil {
		rec := storage.Record{Checksum: e.checksum, Producer: producer, HighestSeq: highest, Data: e.data}
		if err := t.log.Append(rec, synced); err != nil {
			t.mu.Unlock()
			reply(publishResult{}, err)
			return
		}
	}
	t.entries = append(t.entries, e)
	t.dedup[producer] = int64(highest)
	if t.compact != nil {
		t.compact.add(id, e)
	}
	t.msgIn.Add(int64(e.numMessages))
	t.bytesIn.Add(int64(len(e.data)))
	t.storedSize.Add(int64(len(e.data)))
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

// batchHighest is the highest sequence id in a batch, which clients such as
// pulsar-client-go do not send: read from the messages of an uncompressed
// batch, else the lowest it can be (ids rise by at least one per message).
// Without it a producer restarted after a batch would be told a sequence id
// inside that batch, and a replay of the batch's later messages be stored
// twice.
func batchHighest(seq uint64, meta wire.MetaSummary, f *wire.Frame) uint64 {
	if !meta.Batched {
		return seq
	}
	if !meta.Compressed {
		if h, ok := wire.HighestSequenceID(f.Payload()); ok {
			return h
		}
	}
	return seq + uint64(max(meta.NumMessages, 1)) - 1
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

func (t *topic) length() uint64 {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return uint64(len(t.entries))
}

func (t *topic) entryAt(i uint64) (entry, bool) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	if i >= uint64(len(t.entries)) {
		return entry{}, false
	}
	return t.entries[i], true
}

// firstAtOrAfter returns the first entry published at or after ms.
func (t *topic) firstAtOrAfter(ms uint64) uint64 {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return uint64(sort.Search(len(t.entries), func(i int) bool { return t.entries[i].publishTime >= ms }))
}

// subscription returns the named subscription, creating it at the initial
// position if it does not exist, and reports whether it created it.
func (t *topic) subscription(name string, typ wire.CommandSubscribe_SubType, durable bool, start uint64) (*subscription, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if s, ok := t.subs[name]; ok {
		return s, false
	}
	s := newSubscription(t, name, typ, durable, &storage.Cursor{MarkDelete: start})
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
	for _, s := range t.subscriptions() {
		s.stop()
	}
	err := t.flush()
	if t.log != nil {
		err = errors.Join(err, t.log.Close())
	}
	return err
}

// claimProducer registers a connected producer name; Pulsar allows one
// producer per name on a topic at a time.
func (t *topic) claimProducer(name string) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.producers[name] {
		return fmt.Errorf("producer %q is already connected to %s; close it or use another name", name, t.name)
	}
	t.producers[name] = true
	return nil
}

func (t *topic) releaseProducer(name string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.producers, name)
}
