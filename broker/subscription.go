package broker

import (
	"errors"
	"fmt"
	"maps"
	"net/url"
	"path/filepath"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/meshc/meshc/broker/internal/storage"
	"github.com/meshc/meshc/broker/internal/wire"
)

type subType = wire.CommandSubscribe_SubType

const (
	// dispatchBudget bounds the entries one dispatch pass sends, so a busy
	// subscription does not hold its lock for long.
	dispatchBudget = 1000
	// maxReplay bounds how many Key_Shared entries may wait for a busy
	// consumer while later entries of other keys go ahead.
	maxReplay = 10000
	// readAheadBytes is how much of the log a subscription reads at once
	// when its next entry is not in the read cache: a consumer catching up
	// reads the disk in large sequential reads, and holds at most this
	// much besides the cache.
	readAheadBytes = 1 << 20
)

var errConsumerBusy = errors.New("consumer busy")

func subTypeFromString(s string) subType {
	if v, ok := wire.CommandSubscribe_SubType_value[s]; ok {
		return subType(v)
	}
	return wire.CommandSubscribe_Exclusive
}

// consumer is one client consumer attached to a subscription. Its mutable
// fields are guarded by the subscription's mutex.
type consumer struct {
	id            uint64
	name          string
	priority      int32
	conn          *conn
	sub           *subscription
	readCompacted bool
	outOfOrder    bool              // Key_Shared: the consumer allows out-of-order delivery
	since         time.Time         // when it subscribed, for stats
	metadata      map[string]string // ConsumerOptions.Properties, for stats

	permits int64
	unacked int
	active  bool
	told    bool // the client has heard whether it is active
}

type delivery struct {
	c      *consumer
	at     time.Time
	num    int32
	hashes []uint32 // Key_Shared: the key hashes the consumer holds by it
}

// subscription is a named cursor on a topic plus its consumers and the
// dispatch loop that feeds them.
type subscription struct {
	t       *topic
	name    string
	durable bool
	wake    chan struct{}
	done    chan struct{}
	stopped sync.Once
	saveMu  sync.Mutex // orders cursor writes and removal

	mu            sync.Mutex
	typ           subType
	consumers     []*consumer
	markDelete    uint64              // every entry below is acknowledged
	acked         map[uint64]struct{} // acknowledged entries at or above markDelete
	partial       map[uint64][]int64  // batches acknowledged in part: their unacknowledged messages (batchack.go)
	readPos       uint64              // next entry never dispatched
	replay        []uint64            // sorted entries to deliver again
	pending       map[uint64]delivery // delivered, not acknowledged
	holds         map[uint32]*hold    // Key_Shared: key hashes with unacknowledged entries
	outOfOrder    bool                // Key_Shared: every consumer allows out-of-order delivery
	redeliveries  map[uint64]uint32
	rr            int
	dirty         bool
	removed       bool
	readCompacted bool
	msgOut        int64
	bytesOut      int64
	ahead         []entry     // entries read from the disk ahead of readPos
	aheadFirst    uint64      // the id of ahead[0]
	readFailed    bool        // the last read of the log failed (logged once)
	delayed       delayQueue  // entries not to be delivered yet (delayed.go)
	delayTimer    *time.Timer // wakes dispatch when the first of them is due
}

func newSubscription(t *topic, name string, typ subType, durable bool, c *storage.Cursor) *subscription {
	s := &subscription{
		t: t, name: name, typ: typ, durable: durable,
		wake: make(chan struct{}, 1), done: make(chan struct{}),
		markDelete: c.MarkDelete, readPos: c.MarkDelete,
		acked: map[uint64]struct{}{}, pending: map[uint64]delivery{}, redeliveries: map[uint64]uint32{},
		holds: map[uint32]*hold{},
	}
	for _, id := range c.Acked {
		s.acked[id] = struct{}{}
	}
	s.partial = c.Partial
	if s.partial == nil {
		s.partial = map[uint64][]int64{}
	}
	go s.run()
	return s
}

func (s *subscription) run() {
	for {
		select {
		case <-s.done:
			return
		case <-s.wake:
		}
		if s.dispatch() {
			s.notify()
		}
	}
}

func (s *subscription) notify() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func (s *subscription) stop() {
	s.stopped.Do(func() { close(s.done) })
}

func (s *subscription) cursorPath() string {
	return filepath.Join(s.t.dir, "subscriptions", url.QueryEscape(s.name))
}

// saveCursor writes the cursor if it changed since the last write.
func (s *subscription) saveCursor() error {
	if s.t.dir == "" || !s.durable {
		return nil
	}
	s.saveMu.Lock()
	defer s.saveMu.Unlock()
	s.mu.Lock()
	if !s.dirty || s.removed {
		s.mu.Unlock()
		return nil
	}
	c := storage.Cursor{Type: s.typ.String(), MarkDelete: s.markDelete}
	for id := range s.acked {
		c.Acked = append(c.Acked, id)
	}
	if len(s.partial) > 0 {
		c.Partial = maps.Clone(s.partial)
	}
	s.dirty = false
	s.mu.Unlock()
	slices.Sort(c.Acked)
	if err := storage.WriteJSON(s.cursorPath(), c); err != nil {
		s.mu.Lock()
		s.dirty = true
		s.mu.Unlock()
		return fmt.Errorf("save cursor %s of %s: %w", s.name, s.t.name, err)
	}
	return nil
}

// addConsumer attaches c, calling accepted (which queues the reply to the
// client) once the checks pass and before any message or notification.
func (s *subscription) addConsumer(c *consumer, typ subType, accepted func()) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.removed {
		return fmt.Errorf("%w: subscription %s is being removed; retry", errConsumerBusy, s.name)
	}
	if len(s.consumers) > 0 {
		if typ != s.typ {
			return fmt.Errorf("%w: subscription %s is %v, not %v", errConsumerBusy, s.name, s.typ, typ)
		}
		if typ == wire.CommandSubscribe_Exclusive {
			return fmt.Errorf("%w: exclusive subscription %s already has a consumer", errConsumerBusy, s.name)
		}
	}
	if s.typ != typ {
		s.typ, s.dirty = typ, true
	}
	s.consumers = append(s.consumers, c)
	if c.readCompacted {
		s.readCompacted = true
	}
	accepted()
	s.updateOutOfOrderLocked()
	s.updateActiveLocked()
	return nil
}

// removeConsumer detaches c and hands its unacknowledged entries back for
// redelivery. It reports whether the subscription has no consumers left.
func (s *subscription) removeConsumer(c *consumer) bool {
	s.mu.Lock()
	i := slices.Index(s.consumers, c)
	if i < 0 {
		s.mu.Unlock()
		return false
	}
	s.consumers = slices.Delete(s.consumers, i, i+1)
	s.requeueLocked(c, nil)
	s.updateOutOfOrderLocked()
	s.updateActiveLocked()
	empty := len(s.consumers) == 0
	s.mu.Unlock()
	s.notify()
	return empty
}

// updateActiveLocked picks the active consumer of a Failover subscription,
// as Pulsar does. On a partition, ordered by priority and name, the
// partition index chooses among them so partitions spread over consumers.
// On a topic without partitions, the first by priority in the order they
// subscribed stays active while it is there, so a consumer that joins
// takes nothing over. A consumer that loses the role gives its
// unacknowledged entries to the new one.
func (s *subscription) updateActiveLocked() {
	if s.typ != wire.CommandSubscribe_Failover || len(s.consumers) == 0 {
		return
	}
	order := slices.Clone(s.consumers)
	partitioned := s.t.partition >= 0
	sort.SliceStable(order, func(i, j int) bool {
		if order[i].priority != order[j].priority {
			return order[i].priority < order[j].priority
		}
		return partitioned && order[i].name < order[j].name
	})
	idx := 0
	if partitioned {
		idx = int(s.t.partition) % len(order)
	}
	for i, c := range order {
		active := i == idx
		if c.active && !active {
			s.requeueLocked(c, nil)
		}
		if c.active != active || !c.told {
			c.active, c.told = active, true
			c.conn.sendActiveChange(c.id, active)
		}
	}
}

// activeLocked returns the consumer that receives everything on an
// Exclusive or Failover subscription.
func (s *subscription) activeLocked() *consumer {
	if s.typ == wire.CommandSubscribe_Exclusive {
		if len(s.consumers) > 0 {
			return s.consumers[0]
		}
		return nil
	}
	for _, c := range s.consumers {
		if c.active {
			return c
		}
	}
	return nil
}

// ready reports whether c may be sent an entry now: it has permits, is
// under its unacknowledged limit, and its connection is keeping up.
func (s *subscription) ready(c *consumer) bool {
	return c != nil && c.permits > 0 && c.unacked < s.t.b.cfg.MaxUnackedPerConsumer && !c.conn.backlogged()
}

// pick chooses the consumer for an entry of a subscription other than
// Key_Shared, or nil when it must wait.
func (s *subscription) pick() *consumer {
	switch s.typ {
	case wire.CommandSubscribe_Shared:
		n := len(s.consumers)
		for i := 0; i < n; i++ {
			c := s.consumers[(s.rr+i)%n]
			if s.ready(c) {
				s.rr = (s.rr + i + 1) % n
				return c
			}
		}
		return nil
	default:
		if c := s.activeLocked(); s.ready(c) {
			return c
		}
		return nil
	}
}

func (s *subscription) isAckedLocked(id uint64) bool {
	if id < s.markDelete {
		return true
	}
	_, ok := s.acked[id]
	return ok
}

// dispatch sends what the consumers have permits for: entries to deliver
// again first, then new ones. It reports whether it stopped on its budget.
func (s *subscription) dispatch() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.consumers) == 0 {
		return false
	}
	var compact *compactIndex
	if s.readCompacted {
		compact = s.t.compacted()
	}
	budget := dispatchBudget
	keyShared := s.typ == wire.CommandSubscribe_Key_Shared
	var blocked map[uint32]bool // Key_Shared: hashes of entries left waiting in this pass
	if keyShared {
		blocked = map[uint32]bool{}
	}
	choose := func(e entry) (*consumer, []uint32) {
		if !keyShared {
			return s.pick(), nil
		}
		hashes := keyHashes(e)
		return s.pickKeyed(hashes, blocked), hashes
	}
	s.skipDroppedLocked()
	now := time.Now()
	s.releaseDueLocked(now)
	for i := 0; i < len(s.replay) && budget > 0; {
		id := s.replay[i]
		if s.isAckedLocked(id) {
			s.replay = slices.Delete(s.replay, i, i+1)
			continue
		}
		e, err := s.entryLocked(id)
		if errors.Is(err, errEntryGone) {
			s.replay = slices.Delete(s.replay, i, i+1)
			continue
		}
		if err != nil {
			return false
		}
		c, hashes := choose(e)
		if c == nil {
			if keyShared {
				i++
				continue
			}
			break
		}
		s.replay = slices.Delete(s.replay, i, i+1)
		s.sendLocked(c, id, e, hashes)
		budget--
	}
	if len(s.replay) > 0 && !keyShared {
		return false
	}
	n := s.t.readable()
	for s.readPos < n && budget > 0 {
		id := s.readPos
		if s.isAckedLocked(id) {
			s.readPos++
			continue
		}
		e, err := s.entryLocked(id)
		if errors.Is(err, errEntryGone) {
			s.readPos++
			continue
		}
		if err != nil {
			return false
		}
		if compact != nil && !s.t.visibleCompacted(id, e) {
			s.ackLocked(id)
			s.readPos++
			continue
		}
		if s.delayLocked(id, e, now) {
			s.readPos++
			continue
		}
		c, hashes := choose(e)
		if c == nil {
			if keyShared && len(s.replay) < maxReplay && s.anyReadyLocked() {
				s.insertReplayLocked(id)
				s.readPos++
				continue
			}
			return false
		}
		s.sendLocked(c, id, e, hashes)
		s.readPos++
		budget--
	}
	return budget == 0
}

// skipDroppedLocked moves the cursor past entries retention dropped: a
// durable subscription had acknowledged them, a reader loses them.
func (s *subscription) skipDroppedLocked() {
	first := s.t.first()
	if s.markDelete >= first {
		return
	}
	for id := range s.acked {
		if id < first {
			delete(s.acked, id)
		}
	}
	for id := range s.partial {
		if id < first {
			delete(s.partial, id)
		}
	}
	s.markDelete, s.readPos, s.dirty = first, max(s.readPos, first), true
}

// entryLocked returns entry id for dispatch: from what the subscription
// read ahead, from memory or the read cache, or else from the disk,
// reading ahead. A read that fails is logged once until one succeeds.
func (s *subscription) entryLocked(id uint64) (entry, error) {
	if id >= s.aheadFirst && id-s.aheadFirst < uint64(len(s.ahead)) {
		return s.ahead[id-s.aheadFirst], nil
	}
	e, ok, err := s.t.peekEntry(id)
	if ok || err != nil {
		if id >= s.aheadFirst+uint64(len(s.ahead)) {
			s.ahead = nil // caught up with the cache
		}
		return e, err
	}
	es, err := s.t.readEntries(id, readAheadBytes)
	if err != nil {
		if !errors.Is(err, errEntryGone) && !s.readFailed {
			s.readFailed = true
			s.t.b.log.Error("reading the log failed; delivery on this subscription waits", "topic", s.t.name, "subscription", s.name, "err", err)
		}
		return entry{}, err
	}
	s.readFailed = false
	s.ahead, s.aheadFirst = es, id
	return es[0], nil
}

func (s *subscription) anyReadyLocked() bool {
	for _, c := range s.consumers {
		if s.ready(c) {
			return true
		}
	}
	return false
}

func (s *subscription) sendLocked(c *consumer, id uint64, e entry, hashes []uint32) {
	mid := wire.MessageID{Ledger: ledgerID, Entry: id, Partition: s.t.partition}
	c.conn.queueMessage(c.id, mid, s.redeliveries[id], s.partial[id], e.checksum, e.data)
	c.permits -= int64(e.numMessages)
	c.unacked += int(e.numMessages)
	s.pending[id] = delivery{c: c, at: time.Now(), num: e.numMessages, hashes: hashes}
	s.holdLocked(c, hashes)
	s.msgOut += int64(e.numMessages)
	s.bytesOut += int64(len(e.data))
	s.t.msgOut.Add(int64(e.numMessages))
	s.t.bytesOut.Add(int64(len(e.data)))
}

func (s *subscription) insertReplayLocked(id uint64) {
	i, found := slices.BinarySearch(s.replay, id)
	if !found {
		s.replay = slices.Insert(s.replay, i, id)
	}
}

// requeueLocked takes back entries delivered to c (those in ids, or all of
// them when ids is nil) for delivery again.
func (s *subscription) requeueLocked(c *consumer, ids []uint64) {
	take := func(id uint64, d delivery) {
		s.unpendLocked(id, d)
		s.redeliveries[id]++
		s.insertReplayLocked(id)
	}
	if ids == nil {
		for id, d := range s.pending {
			if d.c == c {
				take(id, d)
			}
		}
		return
	}
	for _, id := range ids {
		if d, ok := s.pending[id]; ok && d.c == c {
			take(id, d)
		}
	}
}

func (s *subscription) flow(c *consumer, permits uint32) {
	s.mu.Lock()
	c.permits += int64(permits)
	s.mu.Unlock()
	s.notify()
}

func (s *subscription) redeliver(c *consumer, ids []uint64) {
	s.mu.Lock()
	s.requeueLocked(c, ids)
	s.mu.Unlock()
	s.notify()
}

// unpendLocked forgets a delivery: acknowledged or handed back.
func (s *subscription) unpendLocked(id uint64, d delivery) {
	delete(s.pending, id)
	d.c.unacked -= int(d.num)
	s.releaseLocked(d.hashes)
}

func (s *subscription) ackLocked(id uint64) {
	if d, ok := s.pending[id]; ok {
		s.unpendLocked(id, d)
	}
	delete(s.redeliveries, id)
	delete(s.partial, id)
	if id >= s.markDelete {
		s.acked[id] = struct{}{}
	}
	for {
		if _, ok := s.acked[s.markDelete]; !ok {
			break
		}
		delete(s.acked, s.markDelete)
		s.markDelete++
	}
	s.dirty = true
}

// ack acknowledges entries one by one, or everything up to and including
// ids[0] when cumulative.
func (s *subscription) ack(ids []uint64, cumulative bool) {
	s.mu.Lock()
	if cumulative && len(ids) > 0 {
		upTo := ids[0]
		for id := range s.pending {
			if id <= upTo {
				s.ackLocked(id)
			}
		}
		for id := range s.acked {
			if id <= upTo {
				delete(s.acked, id)
			}
		}
		for id := range s.partial {
			if id <= upTo {
				delete(s.partial, id)
			}
		}
		if upTo+1 > s.markDelete {
			s.markDelete = upTo + 1
		}
		s.ackLocked(upTo)
		if s.readPos < s.markDelete {
			s.readPos = s.markDelete
		}
	} else {
		for _, id := range ids {
			s.ackLocked(id)
		}
	}
	s.mu.Unlock()
	s.notify()
}

// expireBefore acknowledges every entry below pos: the message TTL.
func (s *subscription) expireBefore(pos uint64) {
	s.mu.Lock()
	behind := s.markDelete < pos
	s.mu.Unlock()
	if behind {
		s.ack([]uint64{pos - 1}, true)
	}
}

// expire hands back entries unacknowledged for longer than timeout.
func (s *subscription) expire(now time.Time, timeout time.Duration) {
	s.mu.Lock()
	var n int
	for id, d := range s.pending {
		if now.Sub(d.at) >= timeout {
			s.unpendLocked(id, d)
			s.redeliveries[id]++
			s.insertReplayLocked(id)
			n++
		}
	}
	s.mu.Unlock()
	if n > 0 {
		s.notify()
	}
}

// seek moves the cursor so that pos is the next entry delivered, forgets
// every acknowledgement at or after it, and detaches the consumers: clients
// reconnect and start again from the new position, as with Pulsar.
func (s *subscription) seek(pos uint64) []*consumer {
	s.mu.Lock()
	defer s.mu.Unlock()
	pos = min(max(pos, s.t.first()), s.t.length())
	s.markDelete, s.readPos = pos, pos
	s.ahead = nil
	s.acked = map[uint64]struct{}{}
	s.partial = map[uint64][]int64{}
	s.pending = map[uint64]delivery{}
	s.holds = map[uint32]*hold{}
	s.redeliveries = map[uint64]uint32{}
	s.replay = nil
	s.stopDelaysLocked()
	s.dirty = true
	cs := s.consumers
	s.consumers = nil
	return cs
}

// markDeletePosition is the first entry not acknowledged in order: every
// entry below it is.
func (s *subscription) markDeletePosition() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.markDelete
}

// backlog counts the messages not yet acknowledged and those delivered but
// not acknowledged, from the topic's index.
func (s *subscription) backlog() (backlog, unacked int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := s.t.length()
	backlog = s.t.messagesIn(s.markDelete, n)
	for id := range s.acked {
		if id < n {
			backlog -= s.t.messagesIn(id, id+1)
		}
	}
	for _, d := range s.pending {
		unacked += int64(d.num)
	}
	return backlog, unacked
}
