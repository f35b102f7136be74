package broker

import (
	"math"
	"os"

	"github.com/meshc/meshc/broker/internal/wire"
)

// compactIndex is the compacted view of a topic: for each key, the last
// entry that carries it. A compacted read skips an entry when every key in
// it appears again later, or when it is the latest and a tombstone (a
// message with a null value), so a reader sees the latest value per key.
// Entries without keys, and compressed batches (whose keys are not read),
// are always delivered; a batch that holds any latest value is delivered
// whole.
type compactIndex struct {
	latest map[string]uint64
}

type keyedMessage struct {
	key  string
	null bool
}

// entryKeys lists the keyed messages of an entry.
func entryKeys(e entry) []keyedMessage {
	f := wire.Frame{HeadersAndPayload: e.data}
	meta, err := wire.ScanMetadata(f.Metadata())
	if err != nil || meta.Compressed {
		return nil
	}
	if !meta.Batched {
		if k := meta.Key(); len(k) > 0 {
			return []keyedMessage{{key: string(k), null: meta.NullValue}}
		}
		return nil
	}
	var keys []keyedMessage
	err = wire.ScanBatch(f.Payload(), func(m wire.BatchMessage) {
		if len(m.Key) > 0 {
			keys = append(keys, keyedMessage{key: string(m.Key), null: m.Null})
		}
	})
	if err != nil {
		return nil
	}
	return keys
}

func (c *compactIndex) add(id uint64, e entry) {
	for _, k := range entryKeys(e) {
		c.latest[k.key] = id
	}
}

// visible reports whether a compacted read delivers entry id.
func (c *compactIndex) visible(id uint64, e entry) bool {
	keys := entryKeys(e)
	if len(keys) == 0 {
		return true
	}
	for _, k := range keys {
		if c.latest[k.key] == id && !k.null {
			return true
		}
	}
	return false
}

// oldest is the oldest entry the view shows a value of: retention keeps it
// and everything after, as Pulsar's compacted ledger keeps the latest
// values. The caller holds the topic's lock.
func (c *compactIndex) oldest() uint64 {
	o := uint64(math.MaxUint64)
	for _, id := range c.latest {
		o = min(o, id)
	}
	return o
}

// compacted returns the topic's compacted view, building it on first use.
// The log is read without holding the topic's lock, which is taken only to
// catch up with what was published meanwhile; with a data directory a
// marker file makes the next start build the view while it replays the log.
func (t *topic) compacted() *compactIndex {
	t.compactMu.Lock()
	defer t.compactMu.Unlock()
	t.mu.RLock()
	c := t.compact
	t.mu.RUnlock()
	if c != nil {
		return c
	}
	c = &compactIndex{latest: map[string]uint64{}}
	add := func(id uint64, e entry) { c.add(id, e) }
	for from := uint64(0); ; {
		to := t.length()
		if err := t.scanEntries(from, to, add); err != nil {
			t.b.log.Error("reading the log for the compacted view failed; it lacks those entries", "topic", t.name, "err", err)
		}
		t.mu.Lock()
		if t.next == to {
			t.compact = c
			t.mu.Unlock()
			break
		}
		t.mu.Unlock()
		from = to
	}
	if t.dir != "" {
		if err := os.WriteFile(t.compactedPath(), nil, 0o644); err != nil {
			t.b.log.Error("marking the topic compacted failed; after a restart retention may drop values the compacted view shows", "topic", t.name, "err", err)
		}
	}
	return c
}

// visibleCompacted must be called with the compacted view built.
func (t *topic) visibleCompacted(id uint64, e entry) bool {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.compact.visible(id, e)
}
