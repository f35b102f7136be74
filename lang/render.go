package lang

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Sources maps file names to their contents so that diagnostics can show the
// offending source line.
type Sources map[string][]byte

// Render writes each diagnostic as file:line:col: severity: message, followed
// by the source line with a caret under the spot, the hint, and the related
// places, each with its own snippet. Texts are escaped, as they may quote
// bytes of the file.
func (src Sources) Render(w io.Writer, ds Diagnostics) {
	for _, d := range ds {
		fmt.Fprintf(w, "%s: %s: %s\n", posString(d.Pos), d.Severity, escape(d.Message))
		src.snippet(w, d.Pos, d.End)
		if d.Hint != "" {
			fmt.Fprintf(w, "  hint: %s\n", escape(d.Hint))
		}
		for _, r := range d.Related {
			fmt.Fprintf(w, "  %s: note: %s\n", posString(r.Pos), escape(r.Message))
			src.snippet(w, r.Pos, r.End)
		}
	}
}

// String renders ds as Render does.
func (src Sources) String(ds Diagnostics) string {
	var b strings.Builder
	src.Render(&b, ds)
	return b.String()
}

// snippet prints the line holding pos and underlines [pos, end) on it, or
// just pos when the range spans lines. The line is escaped, and the caret
// is placed and sized by the escaped text, so it stays under the spot.
func (src Sources) snippet(w io.Writer, pos, end Pos) {
	text, ok := src[pos.Filename()]
	if !ok || pos.Line() < 1 {
		return
	}
	line, ok := lineAt(text, pos)
	if !ok {
		return
	}
	col := min(max(pos.Column()-1, 0), len(line))
	width := 1
	if end.Line() == pos.Line() && end.Offset() > pos.Offset() {
		spot := escape(string(line[col:min(col+end.Offset()-pos.Offset(), len(line))]))
		width = max(utf8.RuneCountInString(spot), 1)
	}
	gutter := fmt.Sprintf("%d", pos.Line())
	fmt.Fprintf(w, "  %s | %s\n", gutter, escape(string(line)))
	fmt.Fprintf(w, "  %s | %s%s\n", strings.Repeat(" ", len(gutter)), blank(escape(string(line[:col]))), strings.Repeat("^", width))
}

// lineAt returns the source line that holds pos, without its newline.
func lineAt(text []byte, pos Pos) ([]byte, bool) {
	start := min(max(pos.Offset()-(pos.Column()-1), 0), len(text))
	if start > 0 && text[start-1] != '\n' {
		return nil, false // position and text disagree: print no snippet rather than a wrong one
	}
	// Long lines are cut after the spot, so a huge one-line file costs no
	// more per diagnostic than a short one.
	const maxLine = 200
	line := text[start:min(len(text), start+pos.Column()+maxLine)]
	if i := bytes.IndexByte(line, '\n'); i >= 0 {
		line = line[:i]
	}
	return bytes.TrimSuffix(line, []byte("\r")), true
}

// blank turns escaped text into blanks of the same width, keeping tabs so
// the caret lines up in a terminal.
func blank(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r == '\t' {
			b.WriteByte('\t')
		} else {
			b.WriteByte(' ')
		}
	}
	return b.String()
}

// escape makes text safe to print on a terminal: invalid UTF-8 bytes and
// control or other unprintable characters become Go-style escapes (\x00,
// \xff, \u202e), so that a binary file or a hostile string can neither
// garble the output nor hide what is really there. Tabs stay, as blank
// keeps them too.
func escape(s string) string {
	if plainASCII(s) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == '\t' || (unicode.IsPrint(r) && (r != utf8.RuneError || n > 1)):
			b.WriteString(s[i : i+n])
		case r < utf8.RuneSelf || n == 1: // an ASCII control or an invalid byte
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r <= 0xFFFF:
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			fmt.Fprintf(&b, `\U%08x`, r)
		}
		i += n
	}
	return b.String()
}

// plainASCII reports whether s is printable ASCII and tabs only, the usual
// case, which needs no escaping.
func plainASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < ' ' && c != '\t') || c > '~' {
			return false
		}
	}
	return true
}
