package broker

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/meshc/meshc/broker/internal/storage"
	"github.com/meshc/meshc/broker/internal/wire"
)

// A topic applies message TTL and retention this often, more often when
// the TTL or retention time is short, so that they act within half of it.
const (
	maxMaintainPeriod = time.Second
	minMaintainPeriod = 10 * time.Millisecond
)

// DefaultMaxBacklogBytes is the backlog quota of a topic held in memory.
const DefaultMaxBacklogBytes = 256 << 20

// quotaResume is the share of the quota the backlog must fall to before a
// blocked topic takes producers again, so a producer is not let in for a
// single message and refused at once.
const quotaResume = 0.9

// errBacklogQuota refuses a producer over its topic's backlog quota; the
// client is told ProducerBlockedQuotaExceededException.
var errBacklogQuota = errors.New("backlog quota exceeded")

// quotaState is a topic's backlog quota bookkeeping.
type quotaState struct {
	mu       sync.Mutex   // one full check at a time
	blocked  atomic.Bool  // refusing producers until the backlog falls to quotaResume
	appended atomic.Int64 // bytes ever stored; drops do not lower it
	until    atomic.Int64 // appended bytes up to which appends need no full check
}

// setStorageDefaults fills in the read cache and backlog quota defaults;
// a negative value, meaning none, stays.
func (c *Config) setStorageDefaults() {
	if c.ReadCacheSize == 0 {
		c.ReadCacheSize = DefaultReadCacheSize
	}
	if c.MaxBacklogBytes == 0 && c.DataDir == "" {
		c.MaxBacklogBytes = DefaultMaxBacklogBytes
	}
}

// publishErrorCode is the ServerError a SEND that failed with err gets.
func publishErrorCode(err error) wire.ServerError {
	if errors.Is(err, errBacklogQuota) {
		return wire.ServerError_ProducerBlockedQuotaExceededException
	}
	return wire.ServerError_PersistenceError
}

// maintainEvery, when set, replaces maxMaintainPeriod: tests shorten it.
var maintainEvery time.Duration

func maintainPeriod(cfg Config) time.Duration {
	p := maxMaintainPeriod
	if maintainEvery > 0 {
		p = maintainEvery
	}
	if cfg.MessageTTL > 0 {
		p = min(p, cfg.MessageTTL/2)
	}
	if cfg.RetentionTime > 0 {
		p = min(p, cfg.RetentionTime/2)
	}
	return max(p, minMaintainPeriod)
}

// startMaintenance runs the topic's TTL and retention on a timer, unless
// there is nothing for them to do: data on disk kept for ever, no TTL.
func (t *topic) startMaintenance() {
	cfg := t.b.cfg
	if t.log != nil && cfg.RetentionTime < 0 && cfg.RetentionSize < 0 && cfg.MessageTTL <= 0 {
		return
	}
	t.maintStop, t.maintDone = make(chan struct{}), make(chan struct{})
	go func() {
		defer close(t.maintDone)
		tick := time.NewTicker(maintainPeriod(cfg))
		defer tick.Stop()
		for {
			select {
			case <-t.maintStop:
				return
			case now := <-tick.C:
				t.maintain(now)
			}
		}
	}()
}

func (t *topic) stopMaintenance() {
	t.closeOnce.Do(func() {
		if t.maintStop != nil {
			close(t.maintStop)
			<-t.maintDone
		}
	})
}

// maintain expires messages past their TTL, then drops what retention lets
// go.
func (t *topic) maintain(now time.Time) {
	if ttl := t.b.cfg.MessageTTL; ttl > 0 {
		t.expire(now, ttl)
	}
	t.trim(now)
}

// expire acknowledges, on every subscription, the messages published more
// than ttl ago, as Pulsar's message TTL does.
func (t *topic) expire(now time.Time, ttl time.Duration) {
	subs := t.subscriptions()
	if len(subs) == 0 {
		return
	}
	cutoff := t.firstAtOrAfter(uint64(now.Add(-ttl).UnixMilli()))
	for _, s := range subs {
		s.expireBefore(cutoff)
	}
}

// subsFloor is the lowest mark-delete position of the subscriptions, and
// whether any is durable: without a durable subscription nothing counts as
// acknowledged, since meshc's state topics are read by readers alone.
func (t *topic) subsFloor() (floor uint64, durable bool) {
	floor = math.MaxUint64
	for _, s := range t.subscriptions() {
		s.mu.Lock()
		floor = min(floor, s.markDelete)
		durable = durable || s.durable
		s.mu.Unlock()
	}
	return floor, durable
}

// trim drops the oldest chunks that every subscription has acknowledged
// and that retention does not keep. The chunk being written stays.
func (t *topic) trim(now time.Time) {
	t.trimMu.Lock()
	defer t.trimMu.Unlock()
	floor, durable := t.subsFloor()
	if !durable {
		return
	}
	drop := t.droppable(floor, now)
	if len(drop) == 0 {
		return
	}
	if t.log != nil && !t.saveDedup() {
		return
	}
	for _, c := range drop {
		if !t.dropChunk(c) {
			return
		}
	}
}

// droppable lists the chunks trim may drop, oldest first: wholly below
// floor and past retention (Pulsar's rule: acknowledged data goes once it
// is older than the retention time or the topic is over the retention
// size; a negative limit never acts). A compacted view keeps what it still
// shows, as Pulsar's compacted ledger would.
func (t *topic) droppable(floor uint64, now time.Time) []*chunk {
	cfg := t.b.cfg
	t.mu.RLock()
	defer t.mu.RUnlock()
	if len(t.chunks) < 2 || t.chunks[0].end() > floor {
		return nil
	}
	if t.compact != nil {
		floor = min(floor, t.compact.oldest())
	}
	stored := t.storedSize.Load()
	var out []*chunk
	for _, c := range t.chunks[:len(t.chunks)-1] {
		expired := cfg.RetentionTime >= 0 && now.Sub(c.last) >= cfg.RetentionTime
		over := cfg.RetentionSize >= 0 && stored > cfg.RetentionSize
		if c.end() > floor || !(expired || over) {
			break
		}
		out = append(out, c)
		stored -= c.size
	}
	return out
}

// saveDedup writes the deduplication table before segments go, since the
// table is otherwise rebuilt from their records at start.
func (t *topic) saveDedup() bool {
	t.mu.RLock()
	d := maps.Clone(t.dedup)
	t.mu.RUnlock()
	if err := storage.WriteJSON(t.dedupPath(), d); err != nil {
		t.b.log.Error("saving the deduplication table failed; acknowledged segments are kept", "topic", t.name, "err", err)
		return false
	}
	return true
}

// dropChunk takes the oldest chunk out of the index, then its segment off
// the disk. A segment that cannot be removed is logged and comes back at
// the next start, to be dropped again.
func (t *topic) dropChunk(c *chunk) bool {
	t.mu.Lock()
	if len(t.chunks) < 2 || t.chunks[0] != c {
		t.mu.Unlock()
		return false
	}
	t.chunks[0] = nil
	t.chunks = t.chunks[1:]
	t.droppedBytes, t.droppedMsgs = c.base+c.size, c.baseMsgs+c.nmsgs
	t.storedSize.Add(-c.size)
	t.mu.Unlock()
	if t.log == nil {
		return true
	}
	if err := t.log.RemoveSegment(c.first); err != nil {
		t.b.log.Error("removing an acknowledged log segment failed; it is dropped again at the next start", "topic", t.name, "segment", c.first, "err", err)
		return false
	}
	return true
}

// maxBacklog is the topic's backlog quota in bytes, or 0 for none.
func (t *topic) maxBacklog() int64 {
	return max(t.b.cfg.MaxBacklogBytes, 0)
}

// admit checks an append of n bytes against the backlog quota. Most
// appends pass on a counter; a full check measures the backlog after
// dropping what may go. A duplicate is always let through, to be
// acknowledged.
func (t *topic) admit(producer string, highest uint64, n int) error {
	limit := t.maxBacklog()
	if limit == 0 || (!t.quota.blocked.Load() && t.quota.appended.Load()+int64(n) <= max(t.quota.until.Load(), limit)) {
		return nil
	}
	if t.lastSequence(producer) >= int64(highest) {
		return nil
	}
	return t.checkQuota(int64(n))
}

// checkProducer refuses a new producer while the topic is blocked by its
// backlog quota: the client fails its pending sends with
// ProducerBlockedQuotaExceededException and tries again later.
func (t *topic) checkProducer() error {
	if t.maxBacklog() == 0 || !t.quota.blocked.Load() {
		return nil
	}
	return t.checkQuota(0)
}

func (t *topic) checkQuota(n int64) error {
	t.quota.mu.Lock()
	defer t.quota.mu.Unlock()
	t.trim(time.Now())
	limit := t.maxBacklog()
	backlog := t.backlogBytes()
	if t.quota.blocked.Load() && float64(backlog) <= quotaResume*float64(limit) {
		t.quota.blocked.Store(false)
	}
	if t.quota.blocked.Load() || backlog+n > limit {
		t.quota.blocked.Store(true)
		return fmt.Errorf("%w: topic %s holds %d bytes not acknowledged, its quota is %d (max backlog bytes); "+
			"consume and acknowledge them, or raise the quota", errBacklogQuota, t.name, backlog, limit)
	}
	// Until this much more is appended the backlog cannot pass the quota:
	// appends add to it, acknowledgements and drops only lower it.
	t.quota.until.Store(t.quota.appended.Load() + limit - backlog)
	return nil
}

// backlogBytes is what the topic holds for its subscriptions: the bytes
// from the lowest mark-delete position on, or every byte stored when no
// durable subscription acknowledges any.
func (t *topic) backlogBytes() int64 {
	floor, durable := t.subsFloor()
	t.mu.RLock()
	defer t.mu.RUnlock()
	end := t.bytesBefore(t.next)
	if !durable {
		return end - t.bytesBefore(t.firstID())
	}
	return end - t.bytesBefore(max(floor, t.firstID()))
}
