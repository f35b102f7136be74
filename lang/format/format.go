package format

import (
	"bytes"
	"math"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/meshc/meshc/lang"
)

// maxWidth is the column limit for printing a list or an object on one line.
const maxWidth = 100

// Format parses src, a mesh file or a test file as its name says, and
// returns it in canonical layout. When src does not parse, the error is
// the lang.Diagnostics and no text is returned.
func Format(filename string, src []byte) ([]byte, error) {
	f, diags := lang.ParseFile(filename, src)
	if err := diags.Err(); err != nil {
		return nil, err
	}
	return Source(f), nil
}

// Source returns the canonical text of f, which must have parsed without
// errors.
func Source(f *lang.File) []byte {
	p := &printer{comments: f.Comments}
	return p.file(f)
}

// printer lays out a file line by line. The line being built is kept apart
// from the finished ones, so that a comment met in the middle of a line can
// still be printed above it.
type printer struct {
	comments []lang.Comment
	next     int // index of the first comment not yet printed

	out         []byte // finished lines of the current top-level segment
	cur         []byte // the line being built, indentation included
	inLine      bool   // cur holds a line
	lineComment bool   // cur ends in a line comment: nothing may follow it
	indent      int
	hoistIndent int // indentation of comments printed above cur

	// lastLine is the source line where the last printed element ended,
	// to keep blank lines; 0 right after an opening brace, where a blank
	// line is never printed.
	lastLine int
	segBlank bool // the source had a blank line before the current segment
	breaks   int  // line breaks printed as part of nodes, to tell one-line declarations

	scratch []byte // reused to render values on one line
}

// file prints each declaration as a segment with its comments, and decides
// the blank line between segments: kept from the source, and forced around
// declarations that span several lines.
func (p *printer) file(f *lang.File) []byte {
	var dst []byte
	prevMulti := false
	for i, d := range f.Decls {
		multi := p.declSegment(d, nextStart(f.Decls, i, math.MaxInt))
		if i > 0 && (p.segBlank || multi || prevMulti) {
			dst = append(dst, '\n')
		}
		dst = append(dst, p.out...)
		prevMulti = multi
	}
	p.startSegment()
	p.leading(math.MaxInt) // comments at the end of the file
	p.endLine()
	if len(dst) > 0 && p.segBlank {
		dst = append(dst, '\n')
	}
	return append(dst, p.out...)
}

// declSegment prints d with its comments into p.out, the trailing ones up
// to offset limit, and reports whether d itself took several lines.
func (p *printer) declSegment(d lang.Decl, limit int) (multi bool) {
	p.startSegment()
	p.leading(d.Start().Offset())
	p.line(d.Start().Line())
	start := p.breaks
	p.decl(d)
	p.hoist(d.End().Offset())
	multi = p.breaks > start
	p.lastLine = max(p.lastLine, d.End().Line())
	p.trailing(d.End().Line(), limit)
	p.endLine()
	return multi
}

func (p *printer) startSegment() {
	p.out = p.out[:0]
	p.segBlank = false
}

// line starts a new output line for an element that starts on source line
// from, after a blank line if the source had one since the last element.
func (p *printer) line(from int) {
	blank := p.lastLine > 0 && from > p.lastLine+1
	if !p.inLine && len(p.out) == 0 {
		p.segBlank = blank // the top level decides blanks between segments
		blank = false
	}
	p.endLine()
	if blank {
		p.out = append(p.out, '\n')
	}
	p.cur = appendIndent(p.cur[:0], p.indent)
	p.inLine = true
	p.hoistIndent = p.indent
	p.breaks++
}

func (p *printer) endLine() {
	if p.inLine {
		p.out = append(p.out, p.cur...)
		p.out = append(p.out, '\n')
	}
	p.inLine, p.lineComment = false, false
}

func appendIndent(b []byte, n int) []byte {
	for range n {
		b = append(b, "  "...)
	}
	return b
}

// write appends node text to the current line.
func (p *printer) write(s string) {
	p.breakAfterLineComment()
	if strings.IndexByte(s, '\n') >= 0 {
		p.breaks++
	}
	p.cur = append(p.cur, s...)
}

// writeBytes appends node text rendered in p.scratch, which it keeps for
// reuse.
func (p *printer) writeBytes(b []byte) {
	p.breakAfterLineComment()
	if bytes.IndexByte(b, '\n') >= 0 {
		p.breaks++
	}
	p.cur = append(p.cur, b...)
	p.scratch = b
}

func (p *printer) breakAfterLineComment() {
	if p.lineComment {
		// Unreachable by construction; breaking the line keeps the
		// output parseable all the same.
		p.lastLine = 0
		p.line(0)
	}
}

// fitsValue reports whether v, printed on one line and followed by suffix
// more columns, fits on the current line.
func (p *printer) fitsValue(v *lang.Value, suffix int) bool {
	p.scratch = appendValue(p.scratch[:0], v)
	if bytes.IndexByte(p.scratch, '\n') >= 0 {
		return false
	}
	line := p.cur
	if i := bytes.LastIndexByte(line, '\n'); i >= 0 {
		line = line[i+1:]
	}
	return utf8.RuneCount(line)+utf8.RuneCount(p.scratch)+suffix <= maxWidth
}

// pending returns the next comment if it starts before offset.
func (p *printer) pending(offset int) (lang.Comment, bool) {
	if p.next < len(p.comments) && p.comments[p.next].Start().Offset() < offset {
		return p.comments[p.next], true
	}
	return lang.Comment{}, false
}

// hasComment reports whether a comment starts inside span.
func (p *printer) hasComment(span lang.Span) bool {
	i := sort.Search(len(p.comments), func(i int) bool { return p.comments[i].Start().Offset() >= span.Start().Offset() })
	return i < len(p.comments) && p.comments[i].Start().Offset() < span.End().Offset()
}

// leading prints the comments before offset on their own lines, as
// elements of the current block.
func (p *printer) leading(offset int) {
	for c, ok := p.pending(offset); ok; c, ok = p.pending(offset) {
		p.next++
		p.line(c.Start().Line())
		p.comment(c)
		p.lastLine = c.End().Line()
	}
}

// hoist prints the comments before offset above the current line: they sit
// inside a construct printed on one line, so the nearest line boundary is
// before it.
func (p *printer) hoist(offset int) {
	if !p.inLine {
		p.leading(offset)
		return
	}
	for c, ok := p.pending(offset); ok; c, ok = p.pending(offset) {
		p.next++
		p.out = appendIndent(p.out, p.hoistIndent)
		p.out = append(p.out, commentText(c)...)
		p.out = append(p.out, '\n')
		p.lastLine = max(p.lastLine, c.End().Line())
	}
}

// trailing prints the comments that start on source line endLine, before
// offset limit, at the end of the current line.
func (p *printer) trailing(endLine, limit int) {
	for c, ok := p.pending(limit); ok && c.Start().Line() == endLine; c, ok = p.pending(limit) {
		p.next++
		p.write(" ")
		p.comment(c)
		p.lastLine = max(p.lastLine, c.End().Line())
	}
}

func (p *printer) comment(c lang.Comment) {
	p.write(commentText(c))
	p.lineComment = strings.HasPrefix(c.Text, "//")
}

func commentText(c lang.Comment) string {
	if strings.HasPrefix(c.Text, "//") {
		return strings.TrimRight(c.Text, " \t\r")
	}
	return c.Text
}

// element prints one item of a block on its own lines: its leading
// comments, the item, and the comments that follow it on its last line,
// up to offset limit, where the next item or the block's closer starts.
func (p *printer) element(span lang.Span, limit int, print func()) {
	p.leading(span.Start().Offset())
	p.line(span.Start().Line())
	print()
	p.hoist(span.End().Offset())
	p.lastLine = max(p.lastLine, span.End().Line())
	p.trailing(span.End().Line(), limit)
}

// block prints a bracketed block spanning span, whose closer is its last
// byte and whose first element starts at offset first (the closer's offset
// when it has none): compact when empty and comment-free, else one element
// per line.
func (p *printer) block(span lang.Span, first int, open, close string, body func(limit int)) {
	p.hoist(span.Start().Offset())
	limit := span.End().Offset() - 1
	if _, ok := p.pending(limit); first == limit && !ok {
		p.write(open + close)
		return
	}
	p.write(open)
	// Comments right after the opener, before the first element, stay on
	// the opener's line.
	for c, ok := p.pending(first); ok && c.Start().Line() == span.Start().Line(); c, ok = p.pending(first) {
		p.next++
		p.write(" ")
		p.comment(c)
	}
	p.indent++
	p.lastLine = 0
	body(limit)
	p.leading(limit)
	p.indent--
	p.lastLine = 0
	p.line(0)
	p.write(close)
	// Comments between the closer and the rest of its line belong to the
	// block in the source's next layout, so print them at its indentation.
	p.hoistIndent = p.indent + 1
}

// nextStart returns the offset where the item after nodes[i] starts, or
// limit after the last one.
func nextStart[T interface{ Start() lang.Pos }](nodes []T, i, limit int) int {
	if i+1 < len(nodes) {
		return nodes[i+1].Start().Offset()
	}
	return limit
}
