package lang

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"unsafe"

	"github.com/alecthomas/participle/v2"
	"github.com/alecthomas/participle/v2/lexer"
)

// MaxDepth bounds the nesting of brackets, so that hostile input cannot
// exhaust the parser's stack.
const MaxDepth = 64

// declParsers parse one declaration each, chosen by its keyword. Parsing
// declarations one at a time keeps lookahead at one token and lets the
// parser report an error in each broken declaration, not just the first.
var declParsers = map[string]func(*lexer.PeekingLexer) (Decl, error){
	"mesh":     declParser(itself[*Mesh]),
	"param":    declParser(itself[*Param]),
	"type":     declParser(itself[*TypeDecl]),
	"topic":    declParser((*topicSyntax).decl),
	"function": declParser((*functionSyntax).decl),
	"source":   declParser(itself[*Source]),
	"sink":     declParser((*sinkSyntax).decl),
}

// headParsers parse the head alone of declarations that have a body, read
// by hand, or that have none: participle's optional group for the body,
// tried and captured, cost as much as the rest of what it read.
var headParsers = map[string]func(*lexer.PeekingLexer) (Decl, error){
	"topic":    declParser((*topicHeadSyntax).decl),
	"function": declParser((*functionHeadSyntax).decl),
	"sink":     declParser((*sinkHeadSyntax).decl),
}

// declParser parses a T with participle and makes the declaration of it
// with decl.
func declParser[T any](decl func(*T) Decl) func(*lexer.PeekingLexer) (Decl, error) {
	p := participle.MustBuild[T](participle.Lexer(definition{}))
	return func(lex *lexer.PeekingLexer) (d Decl, err error) {
		// A panic inside participle must reach no user: it becomes an
		// error at the declaration, and the fuzz target hunts for it.
		defer func() {
			if r := recover(); r != nil {
				d, err = nil, participle.Errorf(lex.Peek().Pos, "internal parser error: %v (please report this input)", r)
			}
		}()
		v, err := p.ParseFromLexer(lex)
		if err != nil {
			return nil, err
		}
		return decl(v), nil
	}
}

// itself is a declaration that participle parses as it is.
func itself[D Decl](d D) Decl { return d }

// topicSyntax is what participle reads of a topic declaration. Its name,
// schema and flags are one production read by hand (topicHead): participle
// made a topic's schema twice and tried its flags as a group of its own.
type topicSyntax struct {
	Head topicHead `parser:"'topic' @@"`
	Body *Object   `parser:"@@?"`
}

// topicHeadSyntax is a topic declaration with no body, or one read by hand.
type topicHeadSyntax struct {
	Head topicHead `parser:"'topic' @@"`
}

func (s *topicSyntax) decl() Decl     { return s.Head.decl(s.Body) }
func (s *topicHeadSyntax) decl() Decl { return s.Head.decl(nil) }

func (h *topicHead) decl(body *Object) Decl {
	return &Topic{Name: h.name, Schema: h.schema, Flags: h.flags, Body: body}
}

// functionSyntax is what participle reads of a function declaration. Its
// name, inputs and output are one production read by hand (functionHead):
// as participle's captures and optional groups, they took as long as the
// rest of the declaration.
type functionSyntax struct {
	Head functionHead `parser:"'function' @@"`
	Body *Object      `parser:"@@?"`
}

// functionHeadSyntax is a function declaration with no body, or one read
// by hand.
type functionHeadSyntax struct {
	Head functionHead `parser:"'function' @@"`
}

func (s *functionSyntax) decl() Decl     { return s.Head.decl(s.Body) }
func (s *functionHeadSyntax) decl() Decl { return s.Head.decl(nil) }

func (h *functionHead) decl(body *Object) Decl {
	return &Function{Name: h.name, Inputs: h.inputs, Output: h.output, Body: body}
}

// sinkSyntax is what participle reads of a sink declaration, its name and
// inputs read by hand as a function's are.
type sinkSyntax struct {
	Head sinkHead `parser:"'sink' @@"`
	Body *Object  `parser:"@@?"`
}

// sinkHeadSyntax is a sink declaration with no body, or one read by hand.
type sinkHeadSyntax struct {
	Head sinkHead `parser:"'sink' @@"`
}

func (s *sinkSyntax) decl() Decl     { return s.Head.decl(s.Body) }
func (s *sinkHeadSyntax) decl() Decl { return s.Head.decl(nil) }

func (h *sinkHead) decl(body *Object) Decl {
	return &Sink{Name: h.name, Inputs: h.inputs, Body: body}
}

// Keywords lists the words that open a declaration, in SPEC.md's order.
var Keywords = []string{"mesh", "param", "type", "topic", "function", "source", "sink"}

// grammar is what one kind of file declares: a .mesh file its mesh, a
// .meshtest file its test cases.
type grammar struct {
	parsers map[string]func(*lexer.PeekingLexer) (Decl, error)
	// heads parse the heads of some kinds alone (see headParsers).
	heads     map[string]func(*lexer.PeekingLexer) (Decl, error)
	keywords  []string
	emptyHint string
}

var meshGrammar = &grammar{parsers: declParsers, heads: headParsers, keywords: Keywords,
	emptyHint: `a mesh file starts with a mesh declaration, such as: mesh orders { tenant = "public" namespace = "default" }`}

func (p *fileParser) isKeyword(t *lexer.Token) bool {
	if t.Type != tokIdent {
		return false // most tokens: no map lookup
	}
	_, ok := p.g.parsers[t.Value]
	return ok
}

// Parse parses a whole file. It returns the declarations it could parse and
// a diagnostic for each problem; it never panics, whatever the input.
func Parse(filename string, src []byte) (*File, Diagnostics) {
	return parse(filename, src, meshGrammar)
}

func parse(filename string, src []byte, g *grammar) (*File, Diagnostics) {
	if len(src) > MaxFileSize {
		start := NewPos(filename, 0, 1, 1)
		return &File{Name: filename}, Diagnostics{Errorf(start, start, "file too large: %d bytes, the limit is %d MiB", len(src), MaxFileSize>>20).WithHint(
			"a mesh of 10,000 functions takes about 3 MB; check that this is the file you meant")}
	}
	// The source is read in place: nothing the parser returns keeps a
	// part of it (see interner), so the caller's bytes need no copy.
	s := newScanner(filename, unsafe.String(unsafe.SliceData(src), len(src)))
	s.toks = make([]lexer.Token, 0, min(len(src)/5+4, windowTokens))
	p := &fileParser{s: s, g: g}
	parses.Add(1) // the blocks handNodes lends start anew
	f := &File{Name: filename}
	if !p.has(0) && len(s.diags) == 0 {
		start := s.at(0)
		p.diags = append(p.diags, Errorf(start, start, "empty file: no declarations").WithHint("%s", g.emptyHint))
	}
	p.decls(func(d Decl) { f.Decls = append(f.Decls, d) })
	f.Comments = s.comments
	p.diags = append(s.diags, p.diags...) // the scanner's problems first, as found first
	p.diags.Sort()
	return f, capped(p.diags)
}

// windowTokens is the room made at first for the tokens the parser holds
// at once: those of about a batch of declarations.
const windowTokens = 2048

// MaxFileSize bounds the input: mesh files are written by people, and a
// larger file is most likely the wrong one.
const MaxFileSize = 16 << 20

// MaxErrors bounds the diagnostics reported for one file: past it, more
// errors would hide the first ones, which usually cause the rest.
const MaxErrors = 50

// capped keeps the first MaxErrors diagnostics and ends them with a note
// that says how many there were; the note carries the number left out, so
// that a summary can count every error found, not the lines printed.
func capped(ds Diagnostics) Diagnostics {
	if len(ds) <= MaxErrors {
		return ds
	}
	last := ds[MaxErrors-1]
	note := Errorf(last.Pos, last.End, "too many errors: showing the first %d of %d; fix these first", MaxErrors, len(ds))
	note.Omitted = len(ds) - MaxErrors
	return append(ds[:MaxErrors:MaxErrors], note)
}

type fileParser struct {
	s     *scanner
	toks  []lexer.Token // the scanned tokens not yet dropped: s.toks
	diags Diagnostics   // the parser's own; the scanner keeps its own
	g     *grammar
	nodes nodes // the bodies' nodes
	in    interner

	open   []*lexer.Token // room for the brackets open in a declaration
	openAt []int          // the same, by index

	lex     *lexer.PeekingLexer // participle's lexer for the last batch
	lexRoom int                 // how many tokens lex holds
	one     lexer.PeekingLexer  // lex, at the declaration being parsed
	starts  []lexer.Checkpoint  // room for where each declaration of a batch starts
}

// has reports whether there is a token at index j, scanning on to it if
// need be.
func (p *fileParser) has(j int) bool {
	if j < len(p.toks) {
		return true
	}
	for j >= len(p.s.toks) && p.s.more() {
		p.s.next()
	}
	p.toks = p.s.toks
	return j < len(p.toks)
}

// drop forgets the tokens before index i, all parsed, and returns how
// many it dropped: i.
func (p *fileParser) drop(i int) int {
	n := copy(p.s.toks, p.s.toks[i:])
	p.s.toks = p.s.toks[:n]
	p.toks = p.s.toks
	return i
}

// eof is the position just past the last byte; it scans the rest of the
// file.
func (p *fileParser) eof() Pos {
	for p.s.more() {
		p.s.next()
	}
	p.toks = p.s.toks
	return p.s.at(p.s.off)
}

// at is the position of token t.
func (p *fileParser) at(t *lexer.Token) Pos { return p.s.at(t.Pos.Offset) }

// tokenEnd is the position just past token t.
func (p *fileParser) tokenEnd(t *lexer.Token) Pos { return p.s.at(t.Pos.Offset + len(t.Value)) }

// column1 reports whether token t starts a line.
func (p *fileParser) column1(t *lexer.Token) bool {
	off := t.Pos.Offset
	return off == 0 || p.s.src[off-1] == '\n'
}

// chunk is the tokens [start, end) of one well-bracketed declaration; if
// it ends in a body, body is the index of the body's "{". head: the
// grammar's head parser reads it, and participle is given no body.
type chunk struct {
	start, end, body int
	head             bool
}

// bodied is a declaration whose grammar ends in a body: body is where
// the declaration keeps it.
type bodied interface{ body() **Object }

func (d *Mesh) body() **Object     { return &d.Body }
func (d *Topic) body() **Object    { return &d.Body }
func (d *Function) body() **Object { return &d.Body }
func (d *Source) body() **Object   { return &d.Body }
func (d *Sink) body() **Object     { return &d.Body }
func (d *Test) body() **Object     { return &d.Body }

// bodyAfter is how many tokens of a declaration come before its body at
// the least (the keyword and the name; for a topic its schema, which may
// be a record in braces, too), by keyword.
var bodyAfter = map[string]int{"mesh": 2, "function": 2, "source": 2, "sink": 2, "test": 2, "topic": 3}

// findBody sets c.body if the declaration ends in a brace group that its
// grammar reads as its body. Bodies hold most of a file's tokens: they are
// read by the hand-written productions straight from the scanned tokens,
// and participle sees one token in their place.
func (p *fileParser) findBody(c *chunk) {
	after, ok := bodyAfter[p.toks[c.start].Value]
	if !ok || !isPunctTok(&p.toks[c.end-1], "}") {
		return
	}
	open := p.openAt[:0] // p.openAt is only room kept for the next call
	defer func() { p.openAt = open }()
	group, closed := -1, -1
	for j := c.start; j < c.end; j++ {
		t := &p.toks[j]
		if t.Type != tokPunct {
			continue
		}
		switch t.Value {
		case "{", "[", "(", "<":
			if len(open) == 0 {
				group = j
			}
			open = append(open, j)
		case "}", "]", ")", ">":
			if n := len(open); n > 0 && closes(p.toks[open[n-1]].Value, t.Value) {
				open = open[:n-1]
				if n == 1 {
					closed = j
				}
			}
		}
	}
	if len(open) == 0 && closed == c.end-1 && group >= c.start+after && isPunctTok(&p.toks[group], "{") {
		c.body = group
	}
}

// decl finds the declaration starting at token i and returns its tokens
// (empty if broken, with the problem reported) and the index where the next
// declaration starts.
func (p *fileParser) decl(i int) (chunk, int) {
	t := &p.toks[i]
	if !p.isKeyword(t) {
		end := p.skip(i)
		p.diags = append(p.diags, Errorf(p.at(t), p.tokenEnd(t), "expected a declaration, found %s", describe(t)).WithHint(
			"a declaration starts with one of: %s", strings.Join(p.g.keywords, ", ")))
		return chunk{}, end
	}
	end, problem := p.chunk(i)
	if problem != nil {
		if !p.lexErrorWithin(t.Pos.Offset, p.eofAfter(end)) {
			p.diags = append(p.diags, problem)
		}
		return chunk{}, end
	}
	c := chunk{start: i, end: end}
	p.findBody(&c)
	// A declaration with no "{" has no body: participle need not try one.
	c.head = p.g.heads[t.Value] != nil && (c.body > 0 || !p.hasBrace(c))
	return c, end
}

// hasBrace reports whether the declaration has a "{" token.
func (p *fileParser) hasBrace(c chunk) bool {
	for j := c.start; j < c.end; j++ {
		if isPunctTok(&p.toks[j], "{") {
			return true
		}
	}
	return false
}

// decls finds and parses the declarations, a batch at a time: once a
// batch is parsed, its tokens are dropped, so that the parser holds the
// tokens of a few declarations at once, not the whole file's.
func (p *fileParser) decls(add func(Decl)) {
	var batch []chunk
	fed := 1 // the EOF token that ends a batch
	for i := 0; p.has(i); {
		var c chunk
		if c, i = p.decl(i); c.end <= c.start {
			continue
		}
		if len(batch) > 0 && fed+c.fed() > batchTokens {
			p.parseBatch(batch, add)
			batch, fed = batch[:0], 1
			n := p.drop(c.start)
			c, i = c.shifted(n), i-n
		}
		batch = append(batch, c)
		fed += c.fed()
	}
	if len(batch) > 0 {
		p.parseBatch(batch, add)
	}
}

// batchTokens bounds the tokens fed to participle at once, unless one
// declaration has more: its lexer grows its copy of them by appending,
// which costs more the longer it gets; a power of two fills what it grows.
const batchTokens = 512

// shifted is c with its indexes as they are once the n tokens before it
// are dropped.
func (c chunk) shifted(n int) chunk {
	c.start, c.end = c.start-n, c.end-n
	if c.body > 0 {
		c.body -= n
	}
	return c
}

// fed is how many tokens participle gets for the chunk: the end token
// too, and a body as one token unless its head is read alone.
func (c chunk) fed() int {
	switch {
	case c.body > 0 && c.head:
		return c.body - c.start + 1
	case c.body > 0:
		return c.body - c.start + 2
	}
	return c.end - c.start + 1
}

// parseBatch parses each declaration of a batch with participle, from one
// token stream: each declaration is followed by an end token where the
// declaration's tokens end, so that participle sees it alone, as if it were
// the whole input, without a copy of its tokens per declaration.
func (p *fileParser) parseBatch(chunks []chunk, add func(Decl)) {
	lex := p.feed(chunks)
	starts := p.starts[:0]
	for range chunks {
		starts = append(starts, lex.MakeCheckpoint())
		for lex.Peek().Type != tokEnd {
			lex.Next()
		}
		// Past it, the end token becomes an EOF token: it ends the input of
		// a parse started at this declaration (participle never passes EOF).
		end := lex.Peek()
		lex.Next()
		end.Type = lexer.EOF
	}
	p.starts = starts
	for k, c := range chunks {
		one := &p.one // one for all, as participle keeps no lexer it is given
		*one = *lex
		one.LoadCheckpoint(starts[k])
		kw := p.toks[c.start].Value
		d, err := p.parseDecl(one, &c, kw)
		if err == nil && c.body > 0 {
			err = p.parseBody(d, c)
		}
		if err != nil {
			// A lexical error in the declaration explains whatever the parser
			// then trips over; report only the first cause.
			if !p.lexErrorWithin(p.toks[c.start].Pos.Offset, p.eofAfter(c.end)) {
				p.diags = append(p.diags, p.syntaxError(err, kw, c.end))
			}
			continue
		}
		p.place(d, c)
		add(d)
	}
}

// parseDecl parses declaration c with participle from one, its head alone
// when c.head says so.
func (p *fileParser) parseDecl(one *lexer.PeekingLexer, c *chunk, kw string) (Decl, error) {
	if !c.head {
		return p.g.parsers[kw](one)
	}
	d, err := p.g.heads[kw](one)
	if err != nil {
		// Parsed again whole, so that the error names what follows the
		// head as it is written.
		c.head = false
		return p.g.parsers[kw](p.alone(*c))
	}
	return d, nil
}

// alone returns a lexer of its own over the tokens of c, for a
// declaration parsed again.
func (p *fileParser) alone(c chunk) *lexer.PeekingLexer {
	lex, _ := lexer.Upgrade(&chunkLexer{p: p, chunks: []chunk{c}}) // a chunkLexer never fails
	for lex.Peek().Type != tokEnd {
		lex.Next()
	}
	lex.Peek().Type = lexer.EOF // the end token ends the input, as in parseBatch
	lex.LoadCheckpoint(lexer.Checkpoint{})
	return lex
}

// feed returns participle's lexer over the tokens of chunks. The lexer
// of the last batch is refilled when they fit in it: lexer.Upgrade copies
// every token into a slice grown by appending, and doing so for each batch
// was a good part of what a parse allocated.
func (p *fileParser) feed(chunks []chunk) *lexer.PeekingLexer {
	feed := &chunkLexer{p: p, chunks: chunks}
	n := 1 // the EOF token after the last end token
	for _, c := range chunks {
		n += c.fed()
	}
	if p.lex == nil || n > p.lexRoom {
		// Made with room for a full batch at least, so that it is made once
		// for most files.
		feed.pad = max(batchTokens+1-n, 0)
		p.lex, _ = lexer.Upgrade(feed) // a chunkLexer never fails
		p.lexRoom = n + feed.pad
		return p.lex
	}
	// The lexer hands out pointers into its token slice, which is how its
	// tokens are overwritten here; it never reads past an EOF token, so the
	// tokens of the last batch left after it are never seen.
	p.lex.LoadCheckpoint(lexer.Checkpoint{})
	for {
		t, _ := feed.Next()
		*p.lex.Peek() = t
		if t.EOF() {
			break
		}
		p.lex.Next()
	}
	p.lex.LoadCheckpoint(lexer.Checkpoint{})
	return p.lex
}

// spanned is a declaration, whose span is set here: participle sets only
// spans of its own position type.
type spanned interface{ setSpan(Span) }

func (s *Span) setSpan(span Span) { *s = span }

// place sets the span of declaration d, from its keyword to the end of
// its last token, and binds the positions that the productions participle
// called made to the file.
func (p *fileParser) place(d Decl, c chunk) {
	d.(spanned).setSpan(Span{p.s.file, int32(p.toks[c.start].Pos.Offset), int32(p.eofAfter(c.end))})
	bindDecl(p.s.file, &p.in, d)
}

// parseBody reads the body of declaration d, for which participle saw one
// token or none, from the scanned tokens.
func (p *fileParser) parseBody(d Decl, c chunk) error {
	b, ok := d.(bodied)
	if ok && c.head {
		*b.body() = alloc(&p.nodes.objects)
	}
	if !ok || *b.body() == nil {
		return participle.Errorf(p.toks[c.body].Pos, "internal parser error: no body read (please report this input)")
	}
	eof := lexer.EOFToken(lexer.Position{Offset: p.eofAfter(c.end)})
	ep := &exprParser{lex: &sliceTokens{toks: p.toks[c.body:c.end], eof: eof}, n: &p.nodes, file: p.s.file, in: &p.in}
	return ep.object(*b.body())
}

// chunk finds where the declaration starting at token i ends: at the next
// keyword outside brackets, or at a keyword in column 1 inside unclosed
// brackets (then the brackets are reported as unclosed).
func (p *fileParser) chunk(i int) (end int, problem *Diagnostic) {
	open := p.open[:0] // p.open is only room kept for the next call
	defer func() { p.open = open }()
	prevKeyword := true
	for j := i + 1; p.has(j); j++ {
		t := &p.toks[j]
		keyword := p.isKeyword(t)
		if keyword && !prevKeyword && (len(open) == 0 || p.column1(t)) {
			if len(open) > 0 {
				return j, p.unclosed(open[len(open)-1], describe(t))
			}
			return j, nil
		}
		prevKeyword = keyword
		if t.Type != tokPunct {
			continue
		}
		switch t.Value {
		case "{", "[", "(", "<":
			if open = append(open, t); len(open) > MaxDepth {
				return p.skipNesting(j, len(open)), Errorf(p.at(t), p.tokenEnd(t),
					"nesting is deeper than %d levels", MaxDepth).WithHint("flatten the value or split it into named types")
			}
		case "}", "]", ")", ">":
			if n := len(open); n > 0 && closes(open[n-1].Value, t.Value) {
				open = open[:n-1]
			}
		}
	}
	if len(open) > 0 {
		return len(p.toks), p.unclosed(open[len(open)-1], "the end of the file")
	}
	return len(p.toks), nil
}

func closes(open, close string) bool {
	switch open {
	case "{":
		return close == "}"
	case "[":
		return close == "]"
	case "(":
		return close == ")"
	case "<":
		return close == ">"
	}
	return false
}

func (p *fileParser) unclosed(open *lexer.Token, found string) *Diagnostic {
	want := map[string]string{"{": "}", "[": "]", "(": ")", "<": ">"}[open.Value]
	return Errorf(p.at(open), p.tokenEnd(open), "unclosed %q: found %s before its %q", open.Value, found, want).WithHint(
		"add %q where this %q should end", want, open.Value)
}

// skipNesting moves past the too-deep brackets that start at token j.
func (p *fileParser) skipNesting(j, depth int) int {
	for j++; p.has(j) && depth > 0; j++ {
		switch p.toks[j].Value {
		case "{", "[", "(", "<":
			depth++
		case "}", "]", ")", ">":
			depth--
		}
	}
	if p.has(j) {
		end, _ := p.chunk(j - 1)
		return end
	}
	return j
}

// skip returns the index of the next keyword at bracket depth 0 after i.
func (p *fileParser) skip(i int) int {
	depth := 0
	for j := i + 1; p.has(j); j++ {
		t := &p.toks[j]
		switch {
		case depth <= 0 && p.isKeyword(t):
			return j
		case t.Value == "{" || t.Value == "[" || t.Value == "(":
			depth++
		case t.Value == "}" || t.Value == "]" || t.Value == ")":
			depth--
		}
	}
	return len(p.toks)
}

// chunkLexer feeds the declarations' tokens to participle, each followed by
// an end token placed right after its last token, then an EOF token; a body
// is fed as one token.
type chunkLexer struct {
	p      *fileParser
	chunks []chunk
	k, i   int // the chunk and the token in it that come next
	pad    int // end tokens to feed after the last chunk, as room for later batches
}

func (l *chunkLexer) Next() (lexer.Token, error) {
	if l.k == len(l.chunks) {
		// Past the last end token: participle never reads this far.
		if l.pad > 0 {
			l.pad--
			return lexer.Token{Type: tokEnd}, nil
		}
		return lexer.EOFToken(lexer.Position{Offset: l.p.eofAfter(l.chunks[l.k-1].end)}), nil
	}
	c := l.chunks[l.k]
	if l.i == 0 {
		l.i = c.start
	}
	if c.body > 0 && l.i == c.body {
		l.i = c.end
		if !c.head {
			t := l.p.toks[c.body]
			t.Type = tokBody
			return t, nil
		}
	}
	if l.i < c.end {
		l.i++
		return l.p.toks[l.i-1], nil
	}
	l.k, l.i = l.k+1, 0
	return lexer.Token{Type: tokEnd, Pos: lexer.Position{Offset: l.p.eofAfter(c.end)}}, nil
}

// eofAfter is the offset right after the last token before index end.
func (p *fileParser) eofAfter(end int) int {
	if last := p.lastToken(end); last != nil {
		return last.Pos.Offset + len(last.Value)
	}
	return p.eof().Offset()
}

// lexErrorWithin reports whether the scanner found a problem at an offset
// in [from, to].
func (p *fileParser) lexErrorWithin(from, to int) bool {
	for _, d := range p.s.diags {
		if off := d.Pos.Offset(); off >= from && off <= to {
			return true
		}
	}
	return false
}

// lastToken returns the token before index end, if any.
func (p *fileParser) lastToken(end int) *lexer.Token {
	if end <= 0 {
		return nil
	}
	return &p.toks[end-1]
}

// syntaxError turns participle's error into a diagnostic that says what was
// expected and what was found.
func (p *fileParser) syntaxError(err error, keyword string, end int) *Diagnostic {
	var ee *exprError
	if errors.As(err, &ee) {
		return p.unexpected(ee.found, ee.expect, keyword, end)
	}
	var ute *participle.UnexpectedTokenError
	if !errors.As(err, &ute) {
		var pe participle.Error
		if errors.As(err, &pe) {
			pos := p.s.at(pe.Position().Offset)
			return Errorf(pos, pos, "%s", pe.Message()).WithHint("%s", usage[keyword])
		}
		eof := p.eof()
		return Errorf(eof, eof, "%v", err)
	}
	return p.unexpected(ute.Unexpected, expectation(ute), keyword, end)
}

// unexpected reports token t where expect was wanted in a declaration.
func (p *fileParser) unexpected(t lexer.Token, expect, keyword string, end int) *Diagnostic {
	found := describe(&t)
	if t.EOF() {
		found = "the end of the " + keyword + " declaration"
		if p.has(end) {
			next := p.at(&p.toks[end])
			found += fmt.Sprintf(" (the next declaration starts at %d:%d)", next.Line(), next.Column())
		}
	}
	if expect == "" {
		// The declaration was complete and something else follows it.
		return Errorf(p.at(&t), p.tokenEnd(&t), "unexpected %s after the end of the %s declaration", found, keyword).WithHint(
			"a declaration starts with one of: %s", strings.Join(p.g.keywords, ", "))
	}
	return Errorf(p.at(&t), p.tokenEnd(&t), "expected %s, found %s", expect, found).WithHint("%s", usage[keyword])
}

// usage shows the shape of each declaration in syntax error hints.
var usage = map[string]string{
	"mesh":     `a mesh declaration reads: mesh NAME { tenant = "..." namespace = "..." }`,
	"param":    "a param declaration reads: param NAME TYPE [= DEFAULT]",
	"type":     "a type declaration reads: type NAME { FIELD TYPE ... }",
	"topic":    "a topic declaration reads: topic NAME SCHEMA [external] [{ KEY = VALUE ... }]",
	"function": "a function declaration reads: function NAME(INPUT, ...) [-> OUTPUT] [{ KEY = VALUE ... }]",
	"source":   "a source declaration reads: source NAME -> OUTPUT [{ KEY = VALUE ... }]",
	"sink":     "a sink declaration reads: sink NAME(INPUT, ...) [{ KEY = VALUE ... }]",
	"test":     "a test declaration reads: test NAME { send { TOPIC = [VALUE, ...] } expect { TOPIC = [VALUE, ...] } }",
}

// expectation words participle's expected grammar fragment: only what may
// come next, named as a person would.
func expectation(ute *participle.UnexpectedTokenError) string {
	expect := ute.Expect
	if expect == "" {
		_, after, ok := strings.Cut(ute.Message(), "(expected ")
		if !ok {
			return ""
		}
		expect = strings.TrimSuffix(after, ")")
	}
	var alts []string
	for _, alt := range splitTop(expect, '|') {
		if first := firstElement(alt); first != "" && !slices.Contains(alts, first) {
			alts = append(alts, first)
		}
	}
	return strings.Join(alts, " or ")
}

// firstElement returns the first element of a sequence, entering groups.
func firstElement(seq string) string {
	seq = strings.TrimSpace(seq)
	if strings.HasPrefix(seq, "(") {
		group := splitTop(seq[1:], ')')[0]
		return firstElement(splitTop(group, '|')[0])
	}
	if strings.HasPrefix(seq, `"`) {
		if i := strings.IndexByte(seq[1:], '"'); i >= 0 {
			return seq[:i+2]
		}
	}
	word := strings.TrimRight(strings.Fields(seq + " ")[0], "?*+")
	if w, ok := elementNames[word]; ok {
		return w
	}
	return word
}

var elementNames = map[string]string{
	"Ident": "a name", "<ident>": "a name", "Type": "a type", "Value": "a value", "Object": `"{"`,
	"Record": `"{"`, "Attr": "an attribute (key = value)", "Field": "a field (name type)", "Ref": "a name",
	"List": `"["`, "Args": `"("`, "<string>": "a string", "String": "a string",
}

// splitTop splits s at sep outside quotes and parentheses; with sep ')'
// the first part is what a group that s opens holds.
func splitTop(s string, sep rune) []string {
	var parts []string
	depth, quoted, start := 0, false, 0
	for i, c := range s {
		switch {
		case c == '"':
			quoted = !quoted
		case quoted:
		case c == sep && depth == 0:
			parts = append(parts, s[start:i])
			start = i + 1
		case c == '(':
			depth++
		case c == ')':
			depth--
		}
	}
	return append(parts, s[start:])
}

// describe names a token for an error message.
func describe(t *lexer.Token) string {
	if t.EOF() {
		return "the end of the file"
	}
	v := t.Value
	if len(v) > 40 {
		v = v[:37] + "..."
	}
	switch t.Type {
	case tokIdent:
		return fmt.Sprintf("name %q", v)
	case tokLit:
		if k := kindOf(t.Value); k != litString {
			return fmt.Sprintf("%s %s", litNames[k], v)
		}
		return "string " + v
	}
	return fmt.Sprintf("%q", v)
}
