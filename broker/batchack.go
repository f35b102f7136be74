package broker

import "github.com/meshc/meshc/broker/internal/wire"

// Batch-index acknowledgement, as Pulsar's: a client that acknowledges
// some messages of a batch (pulsar-client-go's
// EnableBatchIndexAcknowledgment) sends the entry's id with an ack set,
// the bits of the batch's messages it has not acknowledged. The
// subscription keeps, per entry, the bits no ack set has cleared; the
// entry is acknowledged once none is left. An entry delivered again (after
// a negative ack, a reconnect or a restart: the bits are in the cursor)
// carries the bits left in its MESSAGE, and the client delivers only
// those messages.

// ackParts acknowledges parts of batches: by entry, the messages left.
// With cumulative, everything before the first entry is acknowledged too.
func (s *subscription) ackParts(parts []partAck, cumulative bool) {
	if len(parts) == 0 {
		return
	}
	if cumulative && parts[0].id > 0 {
		s.ack([]uint64{parts[0].id - 1}, true)
	}
	s.mu.Lock()
	for _, p := range parts {
		s.ackPartLocked(p.id, p.left)
	}
	s.mu.Unlock()
	s.notify()
}

// partAck is an entry and the bits of its messages not acknowledged.
type partAck struct {
	id   uint64
	left []int64
}

func (s *subscription) ackPartLocked(id uint64, left []int64) {
	if s.isAckedLocked(id) {
		return
	}
	if prev, ok := s.partial[id]; ok {
		left = andBits(prev, left)
	} else {
		left = append([]int64(nil), left...)
	}
	if !anyBit(left) {
		s.ackLocked(id)
		return
	}
	s.partial[id] = left
	s.dirty = true
}

// andBits is the bits set in both a and b.
func andBits(a, b []int64) []int64 {
	out := make([]int64, min(len(a), len(b)))
	for i := range out {
		out[i] = a[i] & b[i]
	}
	return out
}

func anyBit(set []int64) bool {
	for _, w := range set {
		if w != 0 {
			return true
		}
	}
	return false
}

// splitAcks sorts an ACK's message ids into whole entries and parts of
// batches. An entry id of -1 (all ones on the wire) is "the entry before
// the first": pulsar-client-go sends it for a cumulative ack inside a
// ledger's first batch; it acknowledges nothing.
func splitAcks(ids []*wire.MessageIdData) (whole []uint64, parts []partAck) {
	for _, m := range ids {
		switch {
		case int64(m.GetEntryId()) < 0:
		case anyBit(m.GetAckSet()):
			parts = append(parts, partAck{id: m.GetEntryId(), left: m.GetAckSet()})
		default:
			whole = append(whole, m.GetEntryId())
		}
	}
	return whole, parts
}
