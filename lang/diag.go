package lang

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/alecthomas/participle/v2/lexer"
)

// Pos is a position in a source file: file name, byte offset, and 1-based
// line and byte column.
type Pos = lexer.Position

// Span is embedded in every AST node: where the node starts and where it
// ends (exclusive).
type Span struct {
	Pos    Pos
	EndPos Pos
}

// Start returns the position of the node's first byte.
func (s Span) Start() Pos { return s.Pos }

// End returns the position just past the node's last byte.
func (s Span) End() Pos { return s.EndPos }

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
	name := p.Filename
	if name == "" {
		name = "<input>"
	}
	return fmt.Sprintf("%s:%d:%d", escape(name), p.Line, p.Column)
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
			cmp.Compare(a.Pos.Filename, b.Pos.Filename),
			cmp.Compare(a.Pos.Offset, b.Pos.Offset),
			cmp.Compare(a.Severity, b.Severity),
			cmp.Compare(a.Message, b.Message),
		)
	})
}
