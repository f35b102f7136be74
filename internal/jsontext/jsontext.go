package jsontext

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"maps"
	"math"
	"math/bits"
	"slices"
	"strconv"
	"unicode/utf8"
)

// Writer appends JSON text to B. An object or array it opens is empty for
// as long as the last byte is its opening bracket, which is how an element
// knows whether a comma goes before it.
type Writer struct {
	B          []byte
	Depth      int  // nesting level, two spaces each
	Compact    bool // json.Marshal's layout rather than MarshalIndent's
	EscapeHTML bool // < > & escaped, as json.Marshal does
	// keys holds slices of map keys for reuse, one taken per map being
	// written.
	keys [][]string
	// Memo, when set, keeps the text of long strings from one use to the
	// next.
	Memo *Memo
}

// Memo keeps the text of the long strings Writers have written, for
// strings written over and over: a schema's definition is in the instance
// plan of every component that reads or writes its topic, and escaping its
// many quotes was a third of the work of writing the plans.
type Memo struct {
	texts map[memoKey]string
}

type memoKey struct {
	s          string
	escapeHTML bool
}

// Strings at least memoLen bytes long are kept, up to memoMax of them.
const (
	memoLen = 128
	memoMax = 1024
)

// Open starts an object ('{') or an array ('[').
func (w *Writer) Open(c byte) {
	w.B = append(w.B, c)
	w.Depth++
}

// Close ends the object ('}') or array (']') last opened; an empty one
// stays on its line.
func (w *Writer) Close(c byte) {
	w.Depth--
	if last := w.B[len(w.B)-1]; last != '{' && last != '[' {
		w.Newline()
	}
	w.B = append(w.B, c)
}

// Key starts a field of the object being written.
func (w *Writer) Key(name string) {
	if !plainKey(name, w.EscapeHTML) {
		w.quotedKey(name)
		return
	}
	w.Field(name)
}

// Field starts a field of the object being written whose name the
// caller writes as a literal of plain printable ASCII, with no quote,
// backslash or < > &: it is written as it is, without Key's look at each
// of its bytes (a plan's own field names are most of its keys).
func (w *Writer) Field(name string) {
	indent := 2 * w.Depth
	if w.Compact {
		indent = -1 // no line break either
	}
	if indent >= len(spaces) {
		w.quotedKey(name)
		return
	}
	// With the comma and the line before it, in one growth of the text.
	b := slices.Grow(w.B, len(name)+indent+6)
	if last := b[len(b)-1]; last != '{' && last != '[' {
		b = append(b, ',')
	}
	b = append(b, newline[:1+indent]...)
	b = append(b, '"')
	b = append(b, name...)
	b = append(b, '"', ':')
	if !w.Compact {
		b = append(b, ' ')
	}
	w.set(b)
}

// quotedKey starts a field whose name is written as any string is.
func (w *Writer) quotedKey(name string) {
	w.Item()
	w.String(name)
	w.B = append(w.B, ':')
	if !w.Compact {
		w.B = append(w.B, ' ')
	}
}

// plainKey says whether name is a short key that a JSON string holds as
// it is.
func plainKey(name string, escapeHTML bool) bool {
	if len(name) > maxPlainKey {
		return false
	}
	i := 0
	for ; i+8 <= len(name); i += 8 {
		if unplain(load64(name[i:]), escapeHTML) != 0 {
			return false
		}
	}
	safe := &plainSafe
	if escapeHTML {
		safe = &htmlSafe
	}
	for ; i < len(name); i++ {
		if c := name[i]; c >= utf8.RuneSelf || !safe[c] {
			return false
		}
	}
	return true
}

// maxPlainKey is the longest key plainKey looks at: longer ones are rare
// and go the way of any string.
const maxPlainKey = 32

// Item starts an element of the array or object being written.
func (w *Writer) Item() {
	if last := w.B[len(w.B)-1]; last != '{' && last != '[' {
		w.B = append(w.B, ',')
	}
	w.Newline()
}

// newline is a line break and the indent of up to 32 levels, which one
// append writes.
const newline = "\n" + spaces
const spaces = "                                                                "

// Newline starts a line at the current depth, unless compact.
func (w *Writer) Newline() {
	if w.Compact {
		return
	}
	n := 2 * w.Depth
	if n < len(spaces) {
		w.set(append(w.B, newline[:1+n]...))
		return
	}
	w.B = append(w.B, '\n')
	for ; n > 0; n -= len(spaces) {
		w.B = append(w.B, spaces[:min(n, len(spaces))]...)
	}
}

// AppendIndented appends src, JSON text laid out as a Writer at depth 0
// lays it out, as one at depth lays it out: each line after the first
// moves right by two spaces a level. A line break in JSON text is only
// ever between values (in strings it is escaped), so src is not parsed.
// It copies eight bytes at a time: lines are short, and a copy a line
// took most of the time.
func AppendIndented(dst, src []byte, depth int) []byte {
	indent := 2 * depth
	if indent > len(spaces) {
		return appendIndentedByLine(dst, src, depth)
	}
	lines := bytes.Count(src, []byte{'\n'})
	n := len(dst)
	// A word is written whole, its bytes before a line break kept; eight
	// bytes more than the text leave room for the last.
	room := slices.Grow(dst, len(src)+lines*indent+8)
	room = room[:cap(room)]
	i := 0
	for i+8 <= len(src) {
		x := binary.LittleEndian.Uint64(src[i:])
		binary.LittleEndian.PutUint64(room[n:], x)
		m := zeroBytes(x^'\n'*lows) & highs
		if m == 0 {
			i += 8
			n += 8
			continue
		}
		k := bits.TrailingZeros64(m)/8 + 1 // the line break kept
		i += k
		n += k
		if indent <= 8 {
			binary.LittleEndian.PutUint64(room[n:], ' '*lows)
		} else {
			copy(room[n:], spaces[:indent])
		}
		n += indent
	}
	return appendIndentedByLine(room[:n], src[i:], depth)
}

// appendIndentedByLine is AppendIndented a line at a time.
func appendIndentedByLine(dst, src []byte, depth int) []byte {
	w := Writer{B: dst, Depth: depth}
	for {
		i := bytes.IndexByte(src, '\n')
		if i < 0 {
			return append(w.B, src...)
		}
		w.B = append(w.B, src[:i]...)
		w.Newline()
		src = src[i+1:]
	}
}

// String writes s as a JSON string.
func (w *Writer) String(s string) {
	if w.Memo == nil || len(s) < memoLen {
		w.set(AppendString(w.B, s, w.EscapeHTML))
		return
	}
	k := memoKey{s, w.EscapeHTML}
	if text, ok := w.Memo.texts[k]; ok {
		w.set(append(w.B, text...))
		return
	}
	start := len(w.B)
	w.set(AppendString(w.B, s, w.EscapeHTML))
	if w.Memo.texts == nil {
		w.Memo.texts = map[memoKey]string{}
	}
	if len(w.Memo.texts) < memoMax {
		w.Memo.texts[k] = string(w.B[start:])
	}
}

// Int writes n.
func (w *Writer) Int(n int64) { w.set(strconv.AppendInt(w.B, n, 10)) }

// Bool writes v.
func (w *Writer) Bool(v bool) { w.set(strconv.AppendBool(w.B, v)) }

// set makes b, which was appended to w.B, the text. A b in w.B's array is
// stored as a length only: storing an array's address costs the
// collector's write barrier while it marks, which in a large emit took a
// tenth of the time.
func (w *Writer) set(b []byte) {
	if cap(b) == cap(w.B) { // appending grows the array, or leaves it
		w.B = w.B[:len(b)]
		return
	}
	w.B = b
}

// AppendString appends s as a JSON string, escaped as encoding/json
// escapes it: quotes, backslashes and control characters, invalid UTF-8 as
// U+FFFD, U+2028 and U+2029 (which JavaScript reads as line ends), and
// < > & when escapeHTML is set.
func AppendString(b []byte, s string, escapeHTML bool) []byte {
	b = append(b, '"')
	for i := 0; ; {
		b, i = appendPlain(b, s, i, escapeHTML)
		if i == len(s) {
			break
		}
		if c := s[i]; c < utf8.RuneSelf {
			b = appendEscaped(b, c)
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
		default:
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return append(b, '"')
}

// appendPlain appends the bytes of s from i on that a string holds as
// they are, up to the first that it does not (one to escape, or the start
// of a multi-byte rune), and returns the index of that one, or len(s). It
// reads and copies eight bytes at a time: most strings are plain ASCII,
// and a byte-by-byte loop took most of the time of writing them.
func appendPlain(b []byte, s string, i int, escapeHTML bool) ([]byte, int) {
	if len(s)-i >= 8 {
		n := len(b)
		b = slices.Grow(b, len(s)-i)
		room := b[:cap(b)] // a word is written whole, its plain bytes kept
		for ; i+8 <= len(s); i += 8 {
			x := load64(s[i:])
			binary.LittleEndian.PutUint64(room[n:], x)
			if m := unplain(x, escapeHTML); m != 0 {
				k := bits.TrailingZeros64(m) / 8
				return room[:n+k], i + k
			}
			n += 8
		}
		b = room[:n]
	}
	safe := &plainSafe
	if escapeHTML {
		safe = &htmlSafe
	}
	start := i
	for ; i < len(s); i++ {
		if c := s[i]; c >= utf8.RuneSelf || !safe[c] {
			break
		}
	}
	return append(b, s[start:i]...), i
}

// Bytes repeated in every byte of a word, for unplain.
const (
	lows  = 0x0101010101010101
	highs = 0x8080808080808080
)

// unplain has the high bit set of each byte of x (eight bytes of a
// string, the first lowest) that a string does not hold as it is: below
// a space, '"', '\\', from 0x80 on, and < > & when escapeHTML is set. The
// lowest set bit is exact; bytes after it may be marked too, as the
// subtractions borrow.
func unplain(x uint64, escapeHTML bool) uint64 {
	m := (x - ' '*lows) &^ x
	m |= zeroBytes(x ^ '"'*lows)
	m |= zeroBytes(x ^ '\\'*lows)
	if escapeHTML {
		m |= zeroBytes((x | 2*lows) ^ '>'*lows) // '<' is '>' but for bit 1
		m |= zeroBytes(x ^ '&'*lows)
	}
	return (m | x) & highs
}

// zeroBytes has the high bit set of the first zero byte of x, and maybe
// of later ones.
func zeroBytes(x uint64) uint64 { return (x - lows) &^ x }

// load64 reads the first eight bytes of s, the first lowest.
func load64(s string) uint64 {
	_ = s[7]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}

// appendEscaped appends an ASCII byte that a JSON string escapes.
func appendEscaped(b []byte, c byte) []byte {
	switch c {
	case '"', '\\':
		return append(b, '\\', c)
	case '\b':
		return append(b, '\\', 'b')
	case '\f':
		return append(b, '\\', 'f')
	case '\n':
		return append(b, '\\', 'n')
	case '\r':
		return append(b, '\\', 'r')
	case '\t':
		return append(b, '\\', 't')
	}
	return append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
}

const hexDigits = "0123456789abcdef"

// plainSafe and htmlSafe say which ASCII bytes a string holds as they are.
var plainSafe, htmlSafe = func() (plain, html [utf8.RuneSelf]bool) {
	for c := ' '; c < utf8.RuneSelf; c++ {
		plain[c] = c != '"' && c != '\\'
		html[c] = plain[c] && c != '<' && c != '>' && c != '&'
	}
	return plain, html
}()

// AppendFloat appends f as encoding/json writes a float64: the shortest
// form that reads back exactly, with an exponent only below 1e-6 and from
// 1e21 on. NaN and the infinities have no JSON form: the error is
// encoding/json's.
func AppendFloat(b []byte, f float64) ([]byte, error) {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		_, err := json.Marshal(f)
		return b, err
	}
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if n := len(b); format == 'e' && n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
		// e-09 reads as e-9 in JSON text, as encoding/json writes it.
		b[n-2] = b[n-1]
		b = b[:n-1]
	}
	return b, nil
}

// Any writes v as encoding/json writes it: the values JSON decodes to
// (nil, strings, bools, float64, map[string]any, []any) and ints by hand,
// anything else by encoding/json, laid out where it stands.
func (w *Writer) Any(v any) error {
	switch v := v.(type) {
	case nil:
		w.set(append(w.B, "null"...))
	case string:
		w.String(v)
	case bool:
		w.Bool(v)
	case int:
		w.Int(int64(v))
	case int64:
		w.Int(v)
	case float64:
		var err error
		w.B, err = AppendFloat(w.B, v)
		return err
	case map[string]any:
		return w.Map(v)
	case []any:
		return w.list(v)
	default:
		return w.reflected(v)
	}
	return nil
}

// Map writes m as an object in the order of its keys, as encoding/json
// writes a map; nil is null.
func (w *Writer) Map(m map[string]any) error {
	if m == nil {
		w.B = append(w.B, "null"...)
		return nil
	}
	keys := SortedKeys(w, m)
	defer w.Release(keys)
	w.Open('{')
	for _, k := range keys {
		w.Key(k)
		if err := w.Any(m[k]); err != nil {
			return err
		}
	}
	w.Close('}')
	return nil
}

func (w *Writer) list(l []any) error {
	if l == nil {
		w.B = append(w.B, "null"...)
		return nil
	}
	w.Open('[')
	for _, x := range l {
		w.Item()
		if err := w.Any(x); err != nil {
			return err
		}
	}
	w.Close(']')
	return nil
}

// reflected writes v with encoding/json, indented to the current depth.
func (w *Writer) reflected(v any) error {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(w.EscapeHTML)
	if !w.Compact {
		enc.SetIndent(string(bytes.Repeat([]byte("  "), w.Depth)), "  ")
	}
	if err := enc.Encode(v); err != nil {
		return err
	}
	w.B = append(w.B, b.Bytes()[:b.Len()-1]...) // Encode's newline
	return nil
}

// SortedKeys is m's keys in order, in a slice of w's, which Release gives
// back: a large file's many small maps then allocate no key lists.
func SortedKeys[V any](w *Writer, m map[string]V) []string {
	var k []string
	if n := len(w.keys); n > 0 {
		k, w.keys = w.keys[n-1][:0], w.keys[:n-1]
	}
	k = slices.AppendSeq(k, maps.Keys(m))
	slices.Sort(k)
	return k
}

// Release gives back keys from SortedKeys.
func (w *Writer) Release(keys []string) { w.keys = append(w.keys, keys) }
