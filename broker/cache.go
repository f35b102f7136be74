package broker

import (
	"container/list"
	"sync"
)

// DefaultReadCacheSize is the default Config.ReadCacheSize.
const DefaultReadCacheSize = 64 << 20

// cacheItemOverhead is what the cache counts for an entry beyond its bytes:
// its list element, map slot and entry header, so that a cache of small
// messages stays within its size too.
const cacheItemOverhead = 200

// readCache holds the entries most recently published to topics with a
// data directory, up to Config.ReadCacheSize bytes for the whole broker,
// so that consumers keeping up are served without reading the disk. The
// oldest entries go first: a consumer that far behind reads the disk
// anyway, a megabyte at a time. Its zero value is an empty cache.
type readCache struct {
	mu    sync.Mutex
	size  int64
	items map[cacheKey]*list.Element
	fifo  list.List // of *cacheItem, oldest first
}

type cacheKey struct {
	t  *topic
	id uint64
}

type cacheItem struct {
	key cacheKey
	e   entry
}

func cacheCost(e entry) int64 { return int64(len(e.data)) + cacheItemOverhead }

// put adds an entry, evicting the oldest ones beyond limit.
func (c *readCache) put(t *topic, id uint64, e entry, limit int64) {
	cost := cacheCost(e)
	if cost > limit {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.items == nil {
		c.items = map[cacheKey]*list.Element{}
	}
	k := cacheKey{t, id}
	if _, ok := c.items[k]; ok {
		return
	}
	c.items[k] = c.fifo.PushBack(&cacheItem{key: k, e: e})
	c.size += cost
	for c.size > limit {
		c.evictLocked(c.fifo.Front())
	}
}

func (c *readCache) evictLocked(el *list.Element) {
	it := c.fifo.Remove(el).(*cacheItem)
	delete(c.items, it.key)
	c.size -= cacheCost(it.e)
}

func (c *readCache) get(t *topic, id uint64) (entry, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.items[cacheKey{t, id}]
	if !ok {
		return entry{}, false
	}
	return el.Value.(*cacheItem).e, true
}

// clear empties the cache.
func (c *readCache) clear() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.items, c.size = nil, 0
	c.fifo.Init()
}

// bytes is the memory the cache counts as used.
func (c *readCache) bytes() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.size
}
