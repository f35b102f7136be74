package storage

// Cursor is the durable state of one subscription: every entry below
// MarkDelete is acknowledged, and so is every entry listed in Acked.
type Cursor struct {
	Type       string   `json:"type"`
	MarkDelete uint64   `json:"markDelete"`
	Acked      []uint64 `json:"acked,omitempty"`
	// Partial holds batches acknowledged in part: by entry, the bits of
	// the messages not yet acknowledged (Pulsar's ack sets).
	Partial map[uint64][]int64 `json:"partial,omitempty"`
}
