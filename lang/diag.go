package lang

import (
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/alecthomas/participle/v2/lexer"
)

// Pos is a position in a source file: file name, byte offset, and 1-based
// line and byte column. It is a file handle and an offset, 16 bytes, so
// that the many spans of a syntax tree cost little; the line and column
// are found from the file's line table when asked for.
type Pos struct {
	file *posFile // nil: no position
	off  int32
}

// posFile is what the positions of one file share: its name and where
// each of its lines starts.
type posFile struct {
	name string
	// lines holds the offset at which each line starts, the first line
	// being line number first; offsets may lie before 0 for a position
	// made by NewPos.
	lines []int32
	first int32
}

// newPosFile makes the line table of src.
func newPosFile(name, src string) *posFile {
	f := &posFile{name: name, first: 1}
	f.lines = make([]int32, 1, strings.Count(src, "\n")+1)
	for i := 0; ; {
		j := strings.IndexByte(src[i:], '\n')
		if j < 0 {
			break
		}
		i += j + 1
		f.lines = append(f.lines, int32(i))
	}
	return f
}

// at is the position of offset off in f.
func (f *posFile) at(off int) Pos { return Pos{f, int32(off)} }

// NewPos returns the position of the given offset, line and column in a
// file that was not parsed here, such as a data file: positions made by
// the parser come with the syntax tree.
func NewPos(filename string, offset, line, column int) Pos {
	f := &posFile{name: filename, lines: []int32{int32(offset - column + 1)}, first: int32(line)}
	return f.at(offset)
}

// Filename is the name of the file p is in.
func (p Pos) Filename() string {
	if p.file == nil {
		return ""
	}
	return p.file.name
}

// Offset is p's byte offset in its file, from 0.
func (p Pos) Offset() int { return int(p.off) }

// line returns the index of p's line in its file's table.
func (p Pos) line() int {
	lines := p.file.lines
	i, j := 0, len(lines)
	for j-i > 1 { // the last line that starts at or before p
		h := int(uint(i+j) >> 1)
		if lines[h] <= p.off {
			i = h
		} else {
			j = h
		}
	}
	return i
}

// Line is p's line, from 1.
func (p Pos) Line() int {
	if p.file == nil {
		return 0
	}
	return int(p.file.first) + p.line()
}

// Column is p's byte column, from 1.
func (p Pos) Column() int {
	if p.file == nil {
		return 0
	}
	return int(p.off-p.file.lines[p.line()]) + 1
}

// String formats p as participle's positions are: file:line:col, or
// line:col without a file name.
func (p Pos) String() string {
	if p.Filename() == "" {
		return fmt.Sprintf("%d:%d", p.Line(), p.Column())
	}
	return fmt.Sprintf("%s:%d:%d", p.Filename(), p.Line(), p.Column())
}

// Equal reports whether p and q name the same place, which go-cmp uses too.
func (p Pos) Equal(q Pos) bool {
	return p.Filename() == q.Filename() && p.off == q.off && p.Line() == q.Line() && p.Column() == q.Column()
}

// MarshalJSON writes p as participle's positions were written:
// {"Filename", "Offset", "Line", "Column"}.
func (p Pos) MarshalJSON() ([]byte, error) {
	return json.Marshal(lexer.Position{Filename: p.Filename(), Offset: p.Offset(), Line: p.Line(), Column: p.Column()})
}

// Span is embedded in every AST node but Attr (see Attr.Span): where the
// node starts and where it ends (exclusive). It is its file's handle and
// two offsets, 16 bytes, as a node's start and end are always in one file:
// half of two positions, for the many nodes of a tree.
type Span struct {
	file       *posFile // nil: no position, or not yet bound (see unbound)
	start, end int32
}

// SpanOf returns the span from start to end. They must be in one file:
// positions of one tree, or positions made by NewPos on one line (a span
// holds one line table, the start's).
func SpanOf(start, end Pos) Span {
	f := start.file
	if f == nil {
		f = end.file
	}
	return Span{f, start.off, end.off}
}

// Start returns the position of the node's first byte.
func (s Span) Start() Pos { return Pos{s.file, s.start} }

// End returns the position just past the node's last byte.
func (s Span) End() Pos { return Pos{s.file, s.end} }

// Severity says whether a diagnostic stops the build.
type Severity int

const (
	Error Severity = iota
	Warning
)

func (s Severity) String() string {
	if s == Warning {
		return "warning"
	}
	return "error"
}

// MarshalText makes severities readable in JSON output.
func (s Severity) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// Related points at another place that explains a diagnostic, such as one
// hop of a cycle or the earlier declaration of a duplicate.
type Related struct {
	Pos     Pos    `json:"pos"`
	End     Pos    `json:"end"`
	Message string `json:"message"`
}

// Diagnostic is one problem found in a source: where, how bad, what, and
// what to do about it.
type Diagnostic struct {
	Severity Severity  `json:"severity"`
	Pos      Pos       `json:"pos"`
	End      Pos       `json:"end"`
	Message  string    `json:"message"`
	Hint     string    `json:"hint,omitempty"`
	Related  []Related `json:"related,omitempty"`
	// Omitted is set on the note that ends a capped list of errors (see
	// MaxErrors): how many errors were found past it and not reported.
	// The note itself is no error of the file, so summaries count these
	// instead of it.
	Omitted int `json:"omitted,omitempty"`
}

// Errorf returns an error diagnostic covering [pos, end).
func Errorf(pos, end Pos, format string, args ...any) *Diagnostic {
	return &Diagnostic{Severity: Error, Pos: pos, End: end, Message: fmt.Sprintf(format, args...)}
}

// Warningf returns a warning diagnostic covering [pos, end).
func Warningf(pos, end Pos, format string, args ...any) *Diagnostic {
	return &Diagnostic{Severity: Warning, Pos: pos, End: end, Message: fmt.Sprintf(format, args...)}
}

// WithHint adds advice on what to do next and returns d.
func (d *Diagnostic) WithHint(format string, args ...any) *Diagnostic {
	d.Hint = fmt.Sprintf(format, args...)
	return d
}

// Error formats d as file:line:col: severity: message, escaped as Render
// escapes it.
func (d *Diagnostic) Error() string {
	msg := fmt.Sprintf("%s: %s: %s", posString(d.Pos), d.Severity, escape(d.Message))
	if d.Hint != "" {
		msg += " (" + escape(d.Hint) + ")"
	}
	return msg
}

func posString(p Pos) string {
	name := p.Filename()
	if name == "" {
		name = "<input>"
	}
	return fmt.Sprintf("%s:%d:%d", escape(name), p.Line(), p.Column())
}

// Diagnostics is a list of problems; as an error it reports them all.
type Diagnostics []*Diagnostic

func (ds Diagnostics) Error() string {
	lines := make([]string, len(ds))
	for i, d := range ds {
		lines[i] = d.Error()
	}
	return strings.Join(lines, "\n")
}

// HasErrors reports whether any diagnostic is an error, not a warning.
func (ds Diagnostics) HasErrors() bool {
	return slices.ContainsFunc(ds, func(d *Diagnostic) bool { return d.Severity == Error })
}

// Err returns ds as an error if it holds any error, and nil otherwise.
func (ds Diagnostics) Err() error {
	if ds.HasErrors() {
		return ds
	}
	return nil
}

// Sort orders diagnostics by file and position, so output is stable.
func (ds Diagnostics) Sort() {
	slices.SortStableFunc(ds, func(a, b *Diagnostic) int {
		return cmp.Or(
			cmp.Compare(a.Pos.Filename(), b.Pos.Filename()),
			cmp.Compare(a.Pos.off, b.Pos.off),
			cmp.Compare(a.Severity, b.Severity),
			cmp.Compare(a.Message, b.Message),
		)
	})
}
