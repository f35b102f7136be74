package lang

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// Sources maps file names to their contents so that diagnostics can show the
// offending source line.
type Sources map[string][]byte

// Render writes each diagnostic as file:line:col: severity: message, followed
// by the source line with a caret under the spot, the hint, and the related
// places, each with its own snippet.
func (src Sources) Render(w io.Writer, ds Diagnostics) {
	for _, d := range ds {
		fmt.Fprintf(w, "%s: %s: %s\n", posString(d.Pos), d.Severity, d.Message)
		src.snippet(w, d.Pos, d.End)
		if d.Hint != "" {
			fmt.Fprintf(w, "  hint: %s\n", d.Hint)
		}
		for _, r := range d.Related {
			fmt.Fprintf(w, "  %s: note: %s\n", posString(r.Pos), r.Message)
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
// just pos when the range spans lines.
func (src Sources) snippet(w io.Writer, pos, end Pos) {
	text, ok := src[pos.Filename]
	if !ok || pos.Line < 1 {
		return
	}
	line, ok := lineAt(text, pos)
	if !ok {
		return
	}
	col := min(max(pos.Column-1, 0), len(line))
	width := 1
	if end.Line == pos.Line && end.Offset > pos.Offset {
		width = max(utf8.RuneCount(line[col:min(col+end.Offset-pos.Offset, len(line))]), 1)
	}
	gutter := fmt.Sprintf("%d", pos.Line)
	fmt.Fprintf(w, "  %s | %s\n", gutter, printable(line))
	fmt.Fprintf(w, "  %s | %s%s\n", strings.Repeat(" ", len(gutter)), pad(line[:col]), strings.Repeat("^", width))
}

// lineAt returns the source line that holds pos, without its newline.
func lineAt(text []byte, pos Pos) ([]byte, bool) {
	start := min(max(pos.Offset-(pos.Column-1), 0), len(text))
	if start > 0 && text[start-1] != '\n' {
		return nil, false // position and text disagree: print no snippet rather than a wrong one
	}
	// Long lines are cut after the spot, so a huge one-line file costs no
	// more per diagnostic than a short one.
	const maxLine = 200
	line := text[start:min(len(text), start+pos.Column+maxLine)]
	if i := bytes.IndexByte(line, '\n'); i >= 0 {
		line = line[:i]
	}
	return bytes.TrimSuffix(line, []byte("\r")), true
}

// pad turns the text before the caret into blanks of the same width, keeping
// tabs so the caret lines up in a terminal.
func pad(prefix []byte) string {
	var b strings.Builder
	for _, r := range string(prefix) {
		if r == '\t' {
			b.WriteByte('\t')
		} else {
			b.WriteByte(' ')
		}
	}
	return b.String()
}

// printable replaces invalid UTF-8 and control bytes so a snippet never
// corrupts the terminal it is printed to.
func printable(line []byte) string {
	var b strings.Builder
	for len(line) > 0 {
		r, n := utf8.DecodeRune(line)
		switch {
		case r == utf8.RuneError && n <= 1, r < 0x20 && r != '\t', r == 0x7f:
			b.WriteRune('\uFFFD')
		default:
			b.WriteRune(r)
		}
		line = line[n:]
	}
	return b.String()
}
