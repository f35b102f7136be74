package lang

import (
	"errors"
	"fmt"

	"github.com/alecthomas/participle/v2/lexer"
)

// ParseAttrs parses a file of bare attributes, key = value per line, as
// parameter files are written:
//
//	replicas = 3
//	env = "prod"
//
// It reports every problem it finds with its position.
func ParseAttrs(filename string, src []byte) ([]*Attr, Diagnostics) {
	if len(src) > MaxFileSize {
		start := NewPos(filename, 0, 1, 1)
		return nil, Diagnostics{Errorf(start, start, "file too large: %d bytes", len(src))}
	}
	s := scan(filename, string(src))
	if len(s.diags) > 0 {
		return nil, capped(s.diags)
	}
	lex := &sliceTokens{toks: s.toks, eof: lexer.EOFToken(lexer.Position{Offset: s.off})}
	p := &exprParser{lex: lex, n: &nodes{}, file: s.file}
	var attrs []*Attr
	for !lex.Peek().EOF() {
		if lex.Peek().Type != tokIdent {
			return attrs, Diagnostics{p.attrError(p.fail("a parameter name"))}
		}
		a, err := p.attr()
		if err != nil {
			return attrs, Diagnostics{p.attrError(err)}
		}
		attrs = append(attrs, a)
		p.accept(",")
	}
	return attrs, nil
}

func (p *exprParser) attrError(err error) *Diagnostic {
	var ee *exprError
	if errors.As(err, &ee) {
		p.last = &ee.found
		return Errorf(p.at(&ee.found), p.end(), "expected %s, found %s", ee.expect, describe(&ee.found)).WithHint(
			`a parameter file holds lines of NAME = VALUE, such as: replicas = 3`)
	}
	start := p.file.at(0)
	return Errorf(start, start, "%s", fmt.Sprint(err))
}
