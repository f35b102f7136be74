package kubernetes

import (
	"encoding/binary"
	"math/bits"
	"slices"
	"strings"
	"unsafe"
)

// literalBlock writes s as a literal block ("|" and its lines indented to
// column col) when yaml.v3 would write it as one, and says whether it did;
// it writes nothing when it did not. yaml.v3 takes that style for text of
// printable ASCII and line breaks that spans lines, ends in one line break
// and does not start with a space or a line break, and whose lines do not
// end in a space.
//
// s is checked as it is copied, eight bytes at a time: instance plans are
// most of the text of a mesh, and a copy a line took much of the time of
// writing them.
func (w *yamlWriter) literalBlock(s string, col int) bool {
	n := len(s)
	if n < 2 || s[0] == ' ' || s[0] == '\n' || s[n-1] != '\n' || s[n-2] == '\n' {
		return false
	}
	lines := strings.Count(s, "\n")
	if lines < 2 {
		return false
	}
	// A word is written whole, its checked bytes kept; eight bytes more
	// than the text leave room for the last.
	b := append(w.b, " |\n"...)
	o := len(b)
	b = slices.Grow(b, n+lines*col+8)
	room := b[:cap(b)]
	for i := 0; i < n; {
		if s[i] != '\n' {
			o += copyIndent(room[o:], col)
		}
		// Copy up to the line's break.
		for i+8 <= n {
			x := load64(s[i:])
			binary.LittleEndian.PutUint64(room[o:], x)
			m := unprintable(x)
			if m == 0 {
				i, o = i+8, o+8
				continue
			}
			k := bits.TrailingZeros64(m) / 8
			i, o = i+k, o+k
			break
		}
		for i < n && printable(s[i]) {
			room[o] = s[i]
			i, o = i+1, o+1
		}
		if s[i] != '\n' || s[i-1] == ' ' {
			return false
		}
		room[o] = '\n'
		i, o = i+1, o+1
	}
	w.set(room[:o])
	return true
}

// copyIndent writes col spaces at the start of room, and returns col.
func copyIndent(room []byte, col int) int {
	for i := 0; i < col; i += len(indents) {
		copy(room[i:col], indents)
	}
	return col
}

func printable(c byte) bool { return ' ' <= c && c <= '~' }

// Bytes repeated in every byte of a word.
const (
	lows  = 0x0101010101010101
	highs = 0x8080808080808080
)

// unprintable has the high bit set of each byte of x (eight bytes of a
// string, the first lowest) that is not printable ASCII. The lowest set
// bit is exact; bytes after it may be marked too, as the arithmetic
// borrows and carries.
func unprintable(x uint64) uint64 {
	below := (x - ' '*lows) &^ x       // below a space
	above := (x + (0x7f-'~')*lows) | x // past '~'
	return (below | above) & highs
}

// load64 reads the first eight bytes of s, the first lowest.
func load64(s string) uint64 {
	return binary.LittleEndian.Uint64(unsafe.Slice(unsafe.StringData(s), 8))
}
