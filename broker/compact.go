package broker

import "github.com/meshc/meshc/broker/internal/wire"

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

func buildCompactIndex(entries []entry) *compactIndex {
	c := &compactIndex{latest: map[string]uint64{}}
	for i, e := range entries {
		c.add(uint64(i), e)
	}
	return c
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

// compacted returns the topic's compacted view, building it on first use.
func (t *topic) compacted() *compactIndex {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.compact == nil {
		t.compact = buildCompactIndex(t.entries)
	}
	return t.compact
}

// visibleCompacted must be called with the compacted view built.
func (t *topic) visibleCompacted(id uint64, e entry) bool {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.compact.visible(id, e)
}
