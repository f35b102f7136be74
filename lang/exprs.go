package lang

import (
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/alecthomas/participle/v2"
	"github.com/alecthomas/participle/v2/lexer"
)

// Bodies, values and types make up most of a mesh file, so they are parsed
// by hand through participle's Parseable hook: one token of lookahead, no
// reflection, no backtracking, and errors that name exactly what was
// expected. So are the headers of topics, functions and sinks, whose
// name, optional groups and lists of names cost participle as much as the
// rest of the declaration. Their grammar is the EBNF in SPEC.md (TopicHead,
// FunctionHead and SinkHead are parts of its Topic, Function and Sink):
//
//	Object       = "{" { Attr [ "," ] } "}" .
//	Attr         = ident ( "=" Value | Object ) .
//	Value        = literal | List | Object | Ref .
//	List         = "[" [ Value { "," Value } [ "," ] ] "]" .
//	Ref          = ident { "." ident } [ "<" Type { "," Type } ">" ] [ Args ] .
//	Args         = "(" [ Value { "," Value } [ "," ] ] ")" .
//	Type         = ( Ref | Record ) [ "?" ] .
//	Record       = "{" { Field [ "," ] } "}" .
//	Field        = ident Type .
//	TopicHead    = ident Type { ident } .
//	FunctionHead = ident Inputs [ "->" ident ] .
//	SinkHead     = ident Inputs .
//	Inputs       = "(" [ ident { "," ident } [ "," ] ] ")" .

// Parse implements participle.Parseable: names are parsed by hand too, so
// that their end is exact without blank tokens in the stream.
func (id *Ident) Parse(lex *lexer.PeekingLexer) error {
	t := lex.Peek()
	if t.Type != tokIdent {
		return participle.NextMatch
	}
	lex.Next()
	*id = Ident{Span: unbound(t.Pos.Offset, t.Pos.Offset+len(t.Value)), Name: t.Value}
	return nil
}

// unbound is the span of offsets in a file not yet known: the productions
// that participle calls know no file, and the parser binds their spans to
// it once participle is done (bindDecl).
func unbound(start, end int) Span { return Span{start: int32(start), end: int32(end)} }

// Parse implements participle.Parseable.
func (o *Object) Parse(lex *lexer.PeekingLexer) error {
	if t := lex.Peek(); t.Type == tokBody {
		lex.Next() // the body itself is read from the scanned tokens
		o.Span = unbound(t.Pos.Offset, 0)
		return nil
	}
	if !isPunctTok(lex.Peek(), "{") {
		return participle.NextMatch
	}
	return handParse(lex, func(p *exprParser) error { return p.object(o) })
}

// Parse implements participle.Parseable.
func (t *Type) Parse(lex *lexer.PeekingLexer) error {
	if tok := lex.Peek(); tok.Type != tokIdent && !isPunctTok(tok, "{") {
		return participle.NextMatch
	}
	return handParse(lex, func(p *exprParser) error { return p.typ(t) })
}

// topicHead is a topic's name, schema and flags: t json<T> external.
type topicHead struct {
	name   *Ident
	schema *Type
	flags  []*Ident
}

// Parse implements participle.Parseable.
func (h *topicHead) Parse(lex *lexer.PeekingLexer) error {
	return parseHead(lex, &h.name, func(p *exprParser) error {
		h.schema = alloc(&p.n.types)
		if err := p.typ(h.schema); err != nil {
			return err
		}
		h.flags = p.names()
		return nil
	})
}

// functionHead is a function's name, inputs and output: f(a, b) -> c.
type functionHead struct {
	name   *Ident
	inputs []*Ident
	output *Ident
}

// Parse implements participle.Parseable.
func (h *functionHead) Parse(lex *lexer.PeekingLexer) error {
	return parseHead(lex, &h.name, func(p *exprParser) (err error) {
		if h.inputs, err = p.inputs(); err != nil || !p.accept("->") {
			return err
		}
		h.output, err = p.ident("a name")
		return err
	})
}

// sinkHead is a sink's name and inputs: s(a, b).
type sinkHead struct {
	name   *Ident
	inputs []*Ident
}

// Parse implements participle.Parseable.
func (h *sinkHead) Parse(lex *lexer.PeekingLexer) error {
	return parseHead(lex, &h.name, func(p *exprParser) (err error) {
		h.inputs, err = p.inputs()
		return err
	})
}

// parseHead reads a declaration's name into name, then the rest of its
// head with rest.
func parseHead(lex *lexer.PeekingLexer, name **Ident, rest func(*exprParser) error) error {
	return handParse(lex, func(p *exprParser) (err error) {
		if *name, err = p.ident("a name"); err != nil {
			return err
		}
		return rest(p)
	})
}

// Parse implements participle.Parseable.
func (v *Value) Parse(lex *lexer.PeekingLexer) error {
	if !startsValue(lex.Peek()) {
		return participle.NextMatch
	}
	return handParse(lex, func(p *exprParser) error { return p.value(v) })
}

// handParse runs a hand-written production. On failure it consumes the rest
// of the declaration, so that participle does not backtrack past the error
// and blame an earlier token.
func handParse(lex *lexer.PeekingLexer, parse func(*exprParser) error) error {
	n := handNodes.Get().(*nodes)
	defer handNodes.Put(n)
	if p := parses.Load(); n.parse != p {
		*n = nodes{parse: p} // blocks of this parse's own
	}
	// The parser lives in n, which is on the heap already: one made here
	// would be allocated for each production.
	n.hand = exprParser{lex: peekingTokens{lex}, n: n}
	err := parse(&n.hand)
	n.hand = exprParser{} // keeps nothing of this lexer
	if err != nil {
		for !lex.Peek().EOF() {
			lex.Next()
		}
	}
	return err
}

// handNodes lends the productions that participle calls, which know no
// file, the blocks their nodes come from, so that the many small values
// of a file (a topic's schema, say) share blocks too. A parse begun since
// a nodes was last lent starts it on new blocks: blocks lent from one
// parse to the next kept the earlier trees alive through the nodes left
// in them (parses at once may share blocks, as their trees live then).
var handNodes = sync.Pool{New: func() any { return new(nodes) }}

// parses counts the parses begun, for handNodes.
var parses atomic.Uint64

// exprError is a syntax error found by the hand-written productions.
type exprError struct {
	found  lexer.Token
	expect string
}

func (e *exprError) Error() string {
	return fmt.Sprintf("offset %d: %s", e.found.Pos.Offset, e.Message())
}
func (e *exprError) Message() string {
	return fmt.Sprintf("expected %s, found %s", e.expect, describe(&e.found))
}
func (e *exprError) Position() lexer.Position { return e.found.Pos }

type exprParser struct {
	lex  tokenStream
	last *lexer.Token // the last consumed token, whose end ends a node
	n    *nodes       // where nodes come from
	file *posFile     // nil when participle calls: see unbound
	// in copies texts out of the source; nil when participle calls, or
	// when the source is a copy of the caller's.
	in *interner
}

// text returns token t's text, copied out of the source if it is read in
// place.
func (p *exprParser) text(t *lexer.Token) string {
	if p.in == nil {
		return t.Value
	}
	return p.in.intern(t.Value)
}

// literal returns the literal of token t, for a Value: shared by the
// literals of the file that are written alike when read in place.
func (p *exprParser) literal(kind LitKind, t *lexer.Token) *literal {
	if p.in == nil {
		l := alloc(&p.n.literals)
		*l = literal{kind, t.Value}
		return l
	}
	return p.in.literal(kind, t.Value)
}

// tokenStream is where the productions read tokens: participle's lexer
// when participle calls them, or a declaration's body read straight from
// the scanned tokens, which spares copying them into participle's lexer.
type tokenStream interface {
	Peek() *lexer.Token
	Next() *lexer.Token
	Second() *lexer.Token
}

// sliceTokens reads tokens from a slice, then returns its EOF token.
type sliceTokens struct {
	toks []lexer.Token
	i    int
	eof  lexer.Token
}

func (s *sliceTokens) Peek() *lexer.Token {
	if s.i < len(s.toks) {
		return &s.toks[s.i]
	}
	return &s.eof
}

func (s *sliceTokens) Next() *lexer.Token {
	t := s.Peek()
	if s.i < len(s.toks) {
		s.i++
	}
	return t
}

// Second returns the token after the next one.
func (s *sliceTokens) Second() *lexer.Token {
	if s.i+1 < len(s.toks) {
		return &s.toks[s.i+1]
	}
	return &s.eof
}

// peekingTokens reads participle's lexer.
type peekingTokens struct{ *lexer.PeekingLexer }

// Second returns the token after the next one.
func (l peekingTokens) Second() *lexer.Token {
	cp := l.MakeCheckpoint()
	l.Next()
	next := l.Peek()
	l.LoadCheckpoint(cp)
	return next
}

func (p *exprParser) peek() *lexer.Token { return p.lex.Peek() }

// at is the position of token t.
func (p *exprParser) at(t *lexer.Token) Pos { return Pos{p.file, int32(t.Pos.Offset)} }

// end is the position just past the last consumed token.
func (p *exprParser) end() Pos { return Pos{p.file, p.endOff()} }

func (p *exprParser) endOff() int32 { return int32(p.last.Pos.Offset + len(p.last.Value)) }

// span is the span from offset start to the end of the last consumed token.
func (p *exprParser) span(start int) Span { return Span{p.file, int32(start), p.endOff()} }

func (p *exprParser) next() *lexer.Token {
	p.last = p.lex.Next()
	return p.last
}

func (p *exprParser) fail(expect string) error {
	return &exprError{found: *p.peek(), expect: expect}
}

// accept consumes the punctuation s if it comes next.
func (p *exprParser) accept(s string) bool {
	if isPunctTok(p.peek(), s) {
		p.next()
		return true
	}
	return false
}

func (p *exprParser) expect(s string) error {
	if !p.accept(s) {
		return p.fail(fmt.Sprintf("%q", s))
	}
	return nil
}

func (p *exprParser) ident(what string) (*Ident, error) {
	t := p.peek()
	if t.Type != tokIdent {
		return nil, p.fail(what)
	}
	p.next()
	id := alloc(&p.n.idents)
	*id = Ident{Span: p.span(t.Pos.Offset), Name: p.text(t)}
	return id, nil
}

func (p *exprParser) object(o *Object) error {
	start := p.peek().Pos.Offset
	if err := p.expect("{"); err != nil {
		return err
	}
	base := len(p.n.attrStack)
	defer func() { o.Attrs = gather(&p.n.attrSlices, &p.n.attrStack, base) }()
	for !p.accept("}") {
		if p.peek().Type != tokIdent {
			return p.fail(`an attribute (key = value) or "}"`)
		}
		a, err := p.attr()
		if err != nil {
			return err
		}
		p.n.attrStack = append(p.n.attrStack, a)
		p.accept(",")
	}
	o.Span = p.span(start)
	return nil
}

func (p *exprParser) attr() (*Attr, error) {
	t := p.peek()
	if t.Type != tokIdent {
		return nil, p.fail("an attribute name")
	}
	p.next()
	start := t.Pos.Offset
	a := alloc(&p.n.attrs)
	a.key = Ident{Span: p.span(start), Name: p.text(t)}
	var err error
	switch {
	case p.accept("="):
		err = p.value(&a.value)
	case isPunctTok(p.peek(), "{"):
		o := alloc(&p.n.objects)
		a.value.node = o
		valueStart := p.peek().Pos.Offset
		err = p.object(o)
		a.value.Span = p.span(valueStart)
	default:
		err = p.fail(`"=" or "{"`)
	}
	return a, err
}

func startsValue(t *lexer.Token) bool {
	return t.Type == tokLit || t.Type == tokIdent || isPunctTok(t, "[") || isPunctTok(t, "{")
}

// litKinds are the kinds of literal tokens, by litKind.
var litKinds = [...]LitKind{litString: StringLit, litInt: IntLit, litFloat: FloatLit, litDuration: DurationLit, litSize: SizeLit}

func (p *exprParser) value(v *Value) error {
	t := p.peek()
	start := t.Pos.Offset
	var err error
	switch {
	case t.Type == tokLit:
		p.next()
		v.node = p.literal(litKinds[kindOf(t.Value)], t)
	case t.Type == tokIdent && (t.Value == "true" || t.Value == "false") && !p.continuesRef():
		p.next()
		v.node = p.literal(BoolLit, t)
	case t.Type == tokIdent:
		r := alloc(&p.n.refs)
		v.node = r
		err = p.ref(r)
	case isPunctTok(t, "["):
		l := alloc(&p.n.lists)
		v.node = l
		err = p.list(l)
	case isPunctTok(t, "{"):
		o := alloc(&p.n.objects)
		v.node = o
		err = p.object(o)
	default:
		return p.fail("a value")
	}
	v.Span = p.span(start)
	return err
}

// continuesRef reports whether the name ahead goes on as a reference
// (true.x, true(...)), so true and false are Bool only when they stand alone.
func (p *exprParser) continuesRef() bool {
	next := p.lex.Second()
	return isPunctTok(next, ".") || isPunctTok(next, "(") || isPunctTok(next, "<")
}

func (p *exprParser) list(l *List) error {
	start := p.next().Pos.Offset // [
	var err error
	l.Items, err = p.values("]")
	l.Span = p.span(start)
	return err
}

// values parses comma-separated values up to and including closer.
func (p *exprParser) values(closer string) (vs []*Value, err error) {
	base := len(p.n.valueStack)
	defer func() { vs = gather(&p.n.valueSlices, &p.n.valueStack, base) }()
	for !p.accept(closer) {
		if !startsValue(p.peek()) {
			return nil, p.fail(fmt.Sprintf("a value or %q", closer))
		}
		v := alloc(&p.n.values)
		if err := p.value(v); err != nil {
			return nil, err
		}
		p.n.valueStack = append(p.n.valueStack, v)
		if !p.accept(",") && !isPunctTok(p.peek(), closer) {
			return nil, p.fail(fmt.Sprintf(`"," or %q`, closer))
		}
	}
	return nil, nil
}

func (p *exprParser) ref(r *Ref) error {
	start := p.peek().Pos.Offset
	if err := p.parts(r); err != nil {
		return err
	}
	if p.accept("<") {
		if err := p.typeArgs(r); err != nil {
			return err
		}
	}
	if isPunctTok(p.peek(), "(") {
		a := alloc(&p.n.args)
		p.refArgs(r).args = a
		if err := p.args(a); err != nil {
			return err
		}
	}
	r.Span = p.span(start)
	return nil
}

// typeArgs reads the type arguments of a reference, after its "<".
func (p *exprParser) typeArgs(r *Ref) error {
	base := len(p.n.typeStack)
	defer func() { p.refArgs(r).typeArgs = gather(&p.n.typeSlices, &p.n.typeStack, base) }()
	for {
		t := alloc(&p.n.types)
		if err := p.typ(t); err != nil {
			return err
		}
		p.n.typeStack = append(p.n.typeStack, t)
		if p.accept(">") {
			return nil
		}
		if err := p.expect(","); err != nil {
			return p.fail(`"," or ">"`)
		}
	}
}

// refArgs returns the arguments of reference r, made if it has none yet.
func (p *exprParser) refArgs(r *Ref) *refArgs {
	if r.more == nil {
		r.more = alloc(&p.n.refArgs)
	}
	return r.more
}

// parts reads the dotted name of a reference.
func (p *exprParser) parts(r *Ref) error {
	base := len(p.n.identStack)
	defer func() { r.Parts = gather(&p.n.identSlices, &p.n.identStack, base) }()
	for {
		id, err := p.ident("a name")
		if err != nil {
			return err
		}
		p.n.identStack = append(p.n.identStack, id)
		if !p.accept(".") {
			return nil
		}
	}
}

// names reads { ident }.
func (p *exprParser) names() []*Ident {
	base := len(p.n.identStack)
	for p.peek().Type == tokIdent {
		id, _ := p.ident("a name") // cannot fail: a name comes next
		p.n.identStack = append(p.n.identStack, id)
	}
	return gather(&p.n.identSlices, &p.n.identStack, base)
}

// inputs reads "(" [ ident { "," ident } [ "," ] ] ")".
func (p *exprParser) inputs() (ids []*Ident, err error) {
	if err := p.expect("("); err != nil {
		return nil, err
	}
	base := len(p.n.identStack)
	defer func() { ids = gather(&p.n.identSlices, &p.n.identStack, base) }()
	for !p.accept(")") {
		id, err := p.ident(`a name or ")"`)
		if err != nil {
			return nil, err
		}
		p.n.identStack = append(p.n.identStack, id)
		if !p.accept(",") && !isPunctTok(p.peek(), ")") {
			return nil, p.fail(`"," or ")"`)
		}
	}
	return nil, nil
}

func (p *exprParser) args(a *Args) error {
	start := p.next().Pos.Offset // (
	var err error
	a.Values, err = p.values(")")
	a.Span = p.span(start)
	return err
}

func (p *exprParser) typ(t *Type) error {
	tok := p.peek()
	start := tok.Pos.Offset
	var err error
	switch {
	case tok.Type == tokIdent:
		t.Name = alloc(&p.n.refs)
		err = p.ref(t.Name)
	case isPunctTok(tok, "{"):
		t.Record = alloc(&p.n.records)
		err = p.record(t.Record)
	default:
		return p.fail("a type")
	}
	if err != nil {
		return err
	}
	t.Optional = p.accept("?")
	t.Span = p.span(start)
	return nil
}

func (p *exprParser) record(r *Record) error {
	start := p.next().Pos.Offset // {
	base := len(p.n.fieldStack)
	defer func() { r.Fields = gather(&p.n.fieldSlices, &p.n.fieldStack, base) }()
	for !p.accept("}") {
		name, err := p.ident(`a field name or "}"`)
		if err != nil {
			return err
		}
		f := alloc(&p.n.fields)
		*f = Field{Name: name, Type: alloc(&p.n.types)}
		if err := p.typ(f.Type); err != nil {
			return err
		}
		f.Span = p.span(int(name.start))
		p.n.fieldStack = append(p.n.fieldStack, f)
		p.accept(",")
	}
	r.Span = p.span(start)
	return nil
}

func isPunctTok(t *lexer.Token, s string) bool { return t.Type == tokPunct && t.Value == s }
