package broker

import (
	"container/heap"
	"time"

	"github.com/meshc/meshc/broker/internal/wire"
)

// Delayed delivery, as Pulsar's: a message whose metadata has a
// deliver_at_time (pulsar-client-go's DeliverAfter and DeliverAt) goes to
// consumers of a Shared or Key_Shared subscription no earlier than that
// time; Exclusive and Failover subscriptions get it at once. Dispatch sets
// a delayed entry aside when it reaches it and takes it up again, as an
// entry to deliver again, once due. Nothing of it is stored: after a
// restart the cursor is read again from its mark-delete position and the
// entries still delayed are set aside again.

// delayedEntry is an entry set aside until at (unix milliseconds).
type delayedEntry struct {
	at int64
	id uint64
}

// delayQueue is a min-heap of delayed entries by time.
type delayQueue []delayedEntry

func (q delayQueue) Len() int { return len(q) }
func (q delayQueue) Less(i, j int) bool {
	return q[i].at < q[j].at || (q[i].at == q[j].at && q[i].id < q[j].id)
}
func (q delayQueue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *delayQueue) Push(x any)   { *q = append(*q, x.(delayedEntry)) }
func (q *delayQueue) Pop() any {
	old := *q
	x := old[len(old)-1]
	*q = old[:len(old)-1]
	return x
}

// delaysLocked reports whether the subscription's type honours delays.
func (s *subscription) delaysLocked() bool {
	return s.typ == wire.CommandSubscribe_Shared || s.typ == wire.CommandSubscribe_Key_Shared
}

// delayLocked sets entry id aside if it is not due yet, and reports
// whether it did.
func (s *subscription) delayLocked(id uint64, e entry, now time.Time) bool {
	if e.deliverAt <= 0 || !s.delaysLocked() || e.deliverAt <= now.UnixMilli() {
		return false
	}
	heap.Push(&s.delayed, delayedEntry{at: e.deliverAt, id: id})
	return true
}

// releaseDueLocked moves the delayed entries that are due to the entries
// to deliver again, and arms a timer for the next one.
func (s *subscription) releaseDueLocked(now time.Time) {
	ms := now.UnixMilli()
	for len(s.delayed) > 0 && (s.delayed[0].at <= ms || !s.delaysLocked()) {
		d := heap.Pop(&s.delayed).(delayedEntry)
		if !s.isAckedLocked(d.id) {
			s.insertReplayLocked(d.id)
		}
	}
	if len(s.delayed) == 0 {
		return
	}
	wait := time.Duration(s.delayed[0].at-ms) * time.Millisecond
	if s.delayTimer == nil {
		s.delayTimer = time.AfterFunc(wait, s.notify)
		return
	}
	s.delayTimer.Reset(wait)
}

// stopDelaysLocked forgets every delayed entry: the cursor moved.
func (s *subscription) stopDelaysLocked() {
	s.delayed = nil
	if s.delayTimer != nil {
		s.delayTimer.Stop()
	}
}
