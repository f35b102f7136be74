package storage

// Cursor is the durable state of one subscription: every entry below
// MarkDelete is acknowledged, and so is every entry listed in Acked.
type Cursor struct {
	Type       string   `json:"type"`
	MarkDelete uint64   `json:"markDelete"`
	Acked      []uint64 `json:"acked,omitempty"`
}
