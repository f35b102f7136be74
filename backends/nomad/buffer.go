package nomad

import (
	"io"
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

// flushSize is how much text a writer streaming a job keeps before it
// writes it out.
const flushSize = 64 << 10

// spill writes b to out and returns it emptied once it holds flushSize
// bytes; otherwise, or with no out, it grows b for the rest of a list of
// n items, done of them written since start (see growFor).
func spill(out io.Writer, b []byte, start, done, n int) ([]byte, error) {
	if out == nil {
		return growFor(b, start, done, n), nil
	}
	if len(b) < flushSize {
		return b, nil
	}
	_, err := out.Write(b)
	return b[:0], err
}
