package nomad

import (
	"strings"
	"unsafe"
)

// newBuffer returns an empty buffer with room for at least n bytes that
// are not cleared first, as make clears them: the writers fill the room
// with text at once, and clearing the tens of megabytes of a large job
// cost more than writing them. A strings.Builder allocates without
// clearing; the string it made is dropped at once, so its bytes are the
// buffer's alone to write.
func newBuffer(n int) []byte {
	var sb strings.Builder
	sb.Grow(max(n, 1))
	sb.WriteByte(0) // so that the string has an address to take
	return unsafe.Slice(unsafe.StringData(sb.String()), sb.Cap())[:0]
}

// grow returns b with room for at least n more bytes, not cleared.
func grow(b []byte, n int) []byte {
	if n <= cap(b)-len(b) {
		return b
	}
	return append(newBuffer(len(b)+n), b...)
}
