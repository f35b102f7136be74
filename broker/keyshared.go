package broker

import (
	"hash/fnv"

	"github.com/meshc/meshc/broker/internal/wire"
)

// Key_Shared dispatch. Every message's key (its ordering key if set, else
// its partition key; no key is a key too) has an owner among the
// consumers, by rendezvous hashing on consumer names, so a consumer that
// joins or leaves moves only the keys it wins or held. Beyond Pulsar's
// rules, a key is never at two consumers at once, and a key's messages go
// out in order:
//
//   - A key is held by the consumer that has unacknowledged messages of it.
//     A message of a held key goes to no other consumer until they are
//     acknowledged, or handed back (negatively acknowledged, timed out, or
//     the consumer left). So a joining consumer gets the keys it wins only
//     once the messages of them sent elsewhere are settled, as Pulsar does
//     for "recently joined consumers", unless every consumer allows
//     out-of-order delivery.
//   - A batch is one entry, sent whole to one consumer. A batch whose
//     messages carry several keys (pulsar-client-go's default batching
//     mixes them) goes to the owner of its first key, and only when none of
//     its keys is held by another consumer: Pulsar sends it to that owner
//     regardless, and two consumers then hold one key. Producers that batch
//     by key (pulsar.KeyBasedBatchBuilder) keep every key with its owner.
//   - An entry that must wait blocks its keys for the rest of the dispatch
//     pass, so that no later message of them overtakes it.

// hold counts one consumer's unacknowledged entries that carry a key hash.
type hold struct {
	c *consumer
	n int
}

// hashKey is the hash a key is owned by.
func hashKey(k []byte) uint32 {
	h := fnv.New32a()
	h.Write(k)
	return h.Sum32()
}

// keyHashes returns the distinct key hashes of an entry's messages, the
// first message's first. A compressed batch, or one that cannot be read,
// counts as its first key alone.
func keyHashes(e entry) []uint32 {
	if !e.batched {
		return []uint32{e.keyHash}
	}
	f := wire.Frame{HeadersAndPayload: e.data}
	var hashes []uint32
	err := wire.ScanBatch(f.Payload(), func(m wire.BatchMessage) {
		h := hashKey(m.Key)
		for _, seen := range hashes {
			if seen == h {
				return
			}
		}
		hashes = append(hashes, h)
	})
	if err != nil || len(hashes) == 0 {
		return []uint32{e.keyHash}
	}
	return hashes
}

// pickKeyed chooses the consumer for an entry with these key hashes, or
// returns nil, blocking the hashes for the rest of the pass, when it must
// wait.
func (s *subscription) pickKeyed(hashes []uint32, blocked map[uint32]bool) *consumer {
	c := s.keyOwner(hashes[0])
	for _, h := range hashes {
		if blocked[h] {
			c = nil
			break
		}
		if hd := s.holds[h]; hd != nil && hd.c != c && !s.outOfOrder {
			c = nil
			break
		}
	}
	if s.ready(c) {
		return c
	}
	for _, h := range hashes {
		blocked[h] = true
	}
	return nil
}

// keyOwner maps a key hash to a consumer by rendezvous hashing on consumer
// names.
func (s *subscription) keyOwner(keyHash uint32) *consumer {
	var best *consumer
	var bestScore uint32
	for _, c := range s.consumers {
		h := fnv.New32a()
		h.Write([]byte{byte(keyHash >> 24), byte(keyHash >> 16), byte(keyHash >> 8), byte(keyHash)})
		h.Write([]byte(c.name))
		if sc := h.Sum32(); best == nil || sc > bestScore || (sc == bestScore && c.id < best.id) {
			best, bestScore = c, sc
		}
	}
	return best
}

// holdLocked records that c has an entry with these hashes unacknowledged.
func (s *subscription) holdLocked(c *consumer, hashes []uint32) {
	for _, h := range hashes {
		hd := s.holds[h]
		if hd == nil {
			hd = &hold{c: c}
			s.holds[h] = hd
		}
		hd.n++
	}
}

// releaseLocked undoes holdLocked for an entry settled or handed back.
func (s *subscription) releaseLocked(hashes []uint32) {
	for _, h := range hashes {
		if hd := s.holds[h]; hd != nil {
			if hd.n--; hd.n <= 0 {
				delete(s.holds, h)
			}
		}
	}
}

// updateOutOfOrderLocked reads whether every consumer allows out-of-order
// delivery.
func (s *subscription) updateOutOfOrderLocked() {
	s.outOfOrder = len(s.consumers) > 0
	for _, c := range s.consumers {
		s.outOfOrder = s.outOfOrder && c.outOfOrder
	}
}
