package lang

import (
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/alecthomas/participle/v2/lexer"
)

// Token types. Blanks and comments make no tokens.
// All literals share one token type, so that the grammar decides a value
// with one branch; their kind follows from their text (see litKind).
const (
	tokIdent lexer.TokenType = iota + 1
	tokLit
	tokPunct
	tokEnd  // ends a declaration in the parser's token stream
	tokBody // stands for a declaration's body in the parser's token stream
)

var symbols = map[string]lexer.TokenType{
	"EOF": lexer.EOF, "Ident": tokIdent, "Lit": tokLit, "Punct": tokPunct,
}

// litKind is the kind of a literal token.
type litKind int

const (
	litString litKind = iota
	litInt
	litFloat
	litDuration
	litSize
)

var litNames = [...]string{"string", "integer", "number", "duration", "size"}

// kindOf classifies a literal's text; the scanner has reported bad ones.
func kindOf(text string) litKind {
	if text != "" && (text[0] == '"' || text[0] == '`') {
		return litString
	}
	k, err := classifyNumber(text)
	if err != nil {
		return litFloat
	}
	return k
}

// Comment is a line (//) or block (/* */) comment, kept apart from the
// tokens so that the parser never sees it and the formatter can put it back.
type Comment struct {
	Span
	Text string
}

// scanner turns source bytes into tokens, comments and diagnostics. It never
// stops at an error: it reports it, skips the bad bytes and goes on.
type scanner struct {
	src      string
	file     *posFile
	off      int // the offset scanned to
	toks     []lexer.Token
	comments []Comment
	diags    Diagnostics
}

// scan scans the whole of src.
func scan(filename string, src string) *scanner {
	s := newScanner(filename, src)
	s.toks = make([]lexer.Token, 0, len(src)/5+4)
	for s.more() {
		s.next()
	}
	return s
}

// newScanner returns a scanner at the start of src, which has scanned
// nothing yet: the parser scans as it goes, so that it holds the tokens of
// a few declarations at a time, not the whole file's.
func newScanner(filename string, src string) *scanner {
	s := &scanner{src: src, file: newPosFile(filename, src)}
	if len(src) >= 3 && src[:3] == "\uFEFF" {
		s.advance(3) // a UTF-8 byte order mark says nothing
	}
	return s
}

// more reports whether bytes are left to scan.
func (s *scanner) more() bool { return s.off < len(s.src) }

func (s *scanner) peekByte(i int) byte {
	if o := s.off + i; o < len(s.src) {
		return s.src[o]
	}
	return 0
}

// advance moves n bytes forward.
func (s *scanner) advance(n int) { s.off += n }

// at is the position of offset off.
func (s *scanner) at(off int) Pos { return s.file.at(off) }

// emit records the token spanning [start, current). Tokens carry their
// offset alone: a position is made of it and the file when a node or a
// diagnostic needs one.
func (s *scanner) emit(typ lexer.TokenType, start int) {
	s.toks = append(s.toks, lexer.Token{Type: typ, Value: s.src[start:s.off], Pos: lexer.Position{Offset: start}})
}

func (s *scanner) errorf(start int, format string, args ...any) *Diagnostic {
	d := Errorf(s.at(start), s.at(s.off), format, args...)
	s.diags = append(s.diags, d)
	return d
}

func (s *scanner) next() {
	c := s.src[s.off]
	start := s.off
	switch {
	case isBlank(c):
		s.blanks()
	case c == '/' && s.peekByte(1) == '/':
		s.lineComment()
	case c == '/' && s.peekByte(1) == '*':
		s.blockComment()
	case isLetter(c):
		s.advance(identLen(s.src[s.off:]))
		s.emit(tokIdent, start)
	case isDigit(c) || (c == '-' && isDigit(s.peekByte(1))) || (c == '.' && isDigit(s.peekByte(1))):
		s.number()
	case c == '"':
		s.quoted()
	case c == '`':
		s.raw()
	case c == '-' && s.peekByte(1) == '>':
		s.advance(2)
		s.emit(tokPunct, start)
	case isPunct(c):
		s.advance(1)
		s.emit(tokPunct, start)
	default:
		s.badChar()
	}
}

func isBlank(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

// blanks skips a run of blanks in one loop: they are a good part of a
// file (indentation), and cost a call of next each otherwise.
func (s *scanner) blanks() {
	for s.off < len(s.src) && isBlank(s.src[s.off]) {
		s.off++
	}
}

func (s *scanner) badChar() {
	start := s.off
	r, n := utf8.DecodeRuneInString(s.src[s.off:])
	s.advance(n)
	switch {
	case r == utf8.RuneError && n == 1:
		s.errorf(start, "invalid UTF-8 byte 0x%02x", s.src[start]).WithHint("mesh files must be UTF-8 encoded")
	case r == '-':
		s.errorf(start, "unexpected %q", r).WithHint("write -> between a function's inputs and its output, or a digit after - for a negative number")
	default:
		s.errorf(start, "unexpected character %q", r)
	}
}

func (s *scanner) lineComment() {
	start := s.off
	end := len(s.src)
	if i := strings.IndexByte(s.src[start:], '\n'); i >= 0 {
		end = start + i
	}
	s.checkUTF8(start, end)
	s.off = end
	s.comments = append(s.comments, Comment{Span{s.file, int32(start), int32(end)}, strings.Clone(s.src[start:end])})
}

func (s *scanner) blockComment() {
	start := s.off
	if i := strings.Index(s.src[start+2:], "*/"); i >= 0 {
		end := start + 2 + i + 2
		s.checkUTF8(start, end-2)
		s.off = end
		s.comments = append(s.comments, Comment{Span{s.file, int32(start), int32(end)}, strings.Clone(s.src[start:end])})
		return
	}
	s.advance(2)
	s.errorf(start, "unterminated block comment").WithHint("close it with */")
	s.advance(len(s.src) - s.off)
}

// checkUTF8 reports invalid UTF-8 inside a comment or string.
func (s *scanner) checkUTF8(from, to int) {
	if utf8.ValidString(s.src[from:to]) {
		return
	}
	for i := from; i < to; {
		r, n := utf8.DecodeRuneInString(s.src[i:to])
		if r == utf8.RuneError && n == 1 {
			s.diags = append(s.diags, Errorf(s.at(i), s.at(i+1),
				"invalid UTF-8 byte 0x%02x", s.src[i]).WithHint("mesh files must be UTF-8 encoded"))
			return // one report per comment or string is enough
		}
		i += n
	}
}

var (
	sizeRE   = regexp.MustCompile(`^[0-9]+(\.[0-9]+)?(Ki|Mi|Gi|Ti|Pi|K|M|G|T|P)$`)
	numberRE = regexp.MustCompile(`^-?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][-+]?[0-9]+)?$`)
)

// number scans an integer, a float, a duration (30s, 1m30s) or a size
// (512Mi): digits and any letters, dots and digits glued to them.
func (s *scanner) number() {
	start := s.off
	i := s.off + 1
	for i < len(s.src) && (isLetter(s.src[i]) || isDigit(s.src[i]) || s.src[i] == '.' ||
		((s.src[i] == '+' || s.src[i] == '-') && (s.src[i-1] == 'e' || s.src[i-1] == 'E'))) {
		i++
	}
	s.advance(i - s.off)
	text := s.src[start:i]
	if _, err := classifyNumber(text); err != nil {
		s.errorf(start, "%v", err) // the token stays, so the parser goes on
	}
	s.emit(tokLit, start)
}

func classifyNumber(text string) (litKind, error) {
	if k, ok := quickKind(text); ok {
		return k, nil
	}
	return classifyAny(text)
}

// classifyAny classifies any literal's text that is not a string.
func classifyAny(text string) (litKind, error) {
	if numberRE.MatchString(text) {
		if _, err := strconv.ParseInt(text, 10, 64); err == nil {
			return litInt, nil
		}
		if _, err := strconv.ParseFloat(text, 64); err == nil {
			if isAllDigits(text) {
				return 0, fmt.Errorf("integer %s does not fit in 64 bits", text)
			}
			return litFloat, nil
		}
		return 0, fmt.Errorf("number %s is out of range", text)
	}
	if sizeRE.MatchString(text) {
		return litSize, nil
	}
	if _, err := time.ParseDuration(text); err == nil && !isAllDigits(text) {
		return litDuration, nil
	}
	return 0, fmt.Errorf("invalid number %q: write an integer (42), a number (0.5), a duration (30s, 1m30s, 500ms) or a size (512Mi, 2Gi, 100M)", text)
}

// quickKind classifies the common literals, an integer or digits and a
// unit (30s, 512Mi), as classifyNumber would, without its regular
// expressions; ok is false for any other text.
func quickKind(text string) (k litKind, ok bool) {
	if len(text) < 19 && isAllDigits(text) {
		return litInt, true // fits in 64 bits
	}
	digits := 0
	for digits < len(text) && isDigit(text[digits]) {
		digits++
	}
	if digits == 0 {
		return 0, false
	}
	switch text[digits:] {
	case "Ki", "Mi", "Gi", "Ti", "Pi", "K", "M", "G", "T", "P":
		return litSize, true
	case "ns", "us", "µs", "ms", "s", "m", "h":
		// Six digits of hours still fit in a time.Duration.
		return litDuration, digits <= 6
	}
	return 0, false
}

func isAllDigits(s string) bool {
	if s != "" && s[0] == '-' {
		s = s[1:]
	}
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return s != ""
}

// quoted scans a double-quoted string with Go's escapes. Strings end on the
// line they start, so a missing quote is reported where it happened.
func (s *scanner) quoted() {
	start := s.off
	i := s.off + 1
	for ; i < len(s.src); i++ {
		switch s.src[i] {
		case '\\':
			i++
			continue
		case '\n':
			s.unterminated(start, i)
			return
		case '"':
			s.checkUTF8(start, i)
			s.advance(i + 1 - s.off)
			if _, err := strconv.Unquote(s.src[start:s.off]); err != nil {
				s.badEscape(start)
			}
			s.emit(tokLit, start)
			return
		}
	}
	s.unterminated(start, len(s.src))
}

func (s *scanner) unterminated(start int, end int) {
	s.advance(min(end, len(s.src)) - s.off)
	s.errorf(start, "unterminated string").WithHint(
		`close it with " on the same line; write \n for a newline, or use a raw string in backquotes`)
	s.emit(tokLit, start)
}

// badEscape reports the first invalid escape in the string that starts at
// start. Double-quoted strings sit on one line, so columns are offsets.
func (s *scanner) badEscape(start int) {
	lit := s.src[start:s.off]
	rest := lit[1 : len(lit)-1]
	for rest != "" {
		_, _, tail, err := strconv.UnquoteChar(rest, '"')
		if err != nil {
			i := start + len(lit) - 1 - len(rest)
			s.diags = append(s.diags, Errorf(s.at(i), s.at(i+2), "invalid escape %q in string", rest[:min(2, len(rest))]).WithHint(
				`use \n, \t, \r, \\, \", \xFF, \u00e9 or \U0001F600`))
			return
		}
		rest = tail
	}
	s.errorf(start, "invalid string")
}

// raw scans a backquoted string: no escapes, may span lines.
func (s *scanner) raw() {
	start := s.off
	if i := strings.IndexByte(s.src[start+1:], '`'); i >= 0 {
		end := start + 1 + i
		s.checkUTF8(start, end)
		s.advance(end + 1 - s.off)
		s.emit(tokLit, start)
		return
	}
	s.advance(len(s.src) - s.off)
	s.errorf(start, "unterminated raw string").WithHint("close it with a backquote (`)")
	s.emit(tokLit, start)
}

func isLetter(c byte) bool { return c == '_' || (c|0x20 >= 'a' && c|0x20 <= 'z') }
func isDigit(c byte) bool  { return c >= '0' && c <= '9' }

func isPunct(c byte) bool {
	switch c {
	case '{', '}', '(', ')', '[', ']', '<', '>', ',', '.', '=', '?', ':', ';':
		return true
	}
	return false
}

// identLen measures a name: a letter or _, then letters, digits and _, with
// single hyphens between them (my-topic), as Pulsar names allow.
func identLen(s string) int {
	i := 1
	for i < len(s) {
		c := s[i]
		switch {
		case isLetter(c) || isDigit(c):
			i++
		case c == '-' && i+1 < len(s) && (isLetter(s[i+1]) || isDigit(s[i+1])):
			i += 2
		default:
			return i
		}
	}
	return i
}

// Definition makes the scanner usable as a participle lexer, for tools that
// want participle's own entry points; the parser uses scanned tokens directly.
type definition struct{}

func (definition) Symbols() map[string]lexer.TokenType { return symbols }

func (definition) Lex(filename string, r io.Reader) (lexer.Lexer, error) {
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	s := scan(filename, string(b))
	if len(s.diags) > 0 {
		return nil, s.diags[0]
	}
	for i := range s.toks {
		s.toks[i].Pos = s.position(s.toks[i].Pos.Offset)
	}
	return &sliceLexer{toks: s.toks, eof: s.position(s.off)}, nil
}

// position is the full position of offset off, as participle's own
// lexers give it.
func (s *scanner) position(off int) lexer.Position {
	p := s.at(off)
	return lexer.Position{Filename: p.Filename(), Offset: off, Line: p.Line(), Column: p.Column()}
}

// sliceLexer replays scanned tokens to participle.
type sliceLexer struct {
	toks []lexer.Token
	eof  lexer.Position
	i    int
}

func (l *sliceLexer) Next() (lexer.Token, error) {
	if l.i >= len(l.toks) {
		return lexer.EOFToken(l.eof), nil
	}
	l.i++
	return l.toks[l.i-1], nil
}
