package podshell

import (
	"strings"
	"unicode/utf8"

	"mvdan.cc/sh/v3/syntax"
)

// quoteEscapes works around mvdan.cc/sh v3.14.1's interpreter, which keeps
// the backslash of an unquoted escape in the words that it expands to one
// string: X=\"a\" sets X to \"a\", where bash, doing POSIX quote removal,
// sets it to "a". Those words are assignment values, redirection targets,
// case subjects, [[ ]] operands and the words of ${X:-word} and its kin;
// the Function Mesh operator's GO_FUNCTION_CONF={\"pulsarServiceURL\":...}
// is one. quoteEscapes single-quotes each escaped character instead, which
// the interpreter keeps as it is. Scripts that eval or source run without.
func quoteEscapes(node syntax.Node) {
	// inDouble has an entry for each node being walked: whether its words
	// are within double quotes, where only some characters are escaped.
	inDouble := []bool{false}
	syntax.Walk(node, func(n syntax.Node) bool {
		if n == nil {
			inDouble = inDouble[:len(inDouble)-1]
			return true
		}
		quoted := inDouble[len(inDouble)-1]
		switch n := n.(type) {
		case *syntax.DblQuoted:
			quoted = true
		case *syntax.CmdSubst, *syntax.ProcSubst:
			quoted = false
		case *syntax.ParamExp:
			if n.Exp != nil && isValueExpansion(n.Exp.Op) {
				quoteWordEscapes(n.Exp.Word, quoted)
			}
		default:
			quoteCommandEscapes(n)
		}
		inDouble = append(inDouble, quoted)
		return true
	})
}

// quoteCommandEscapes quotes the escapes of the unquoted words, outside
// parameter expansions, that the interpreter expands to one string.
func quoteCommandEscapes(n syntax.Node) {
	switch n := n.(type) {
	case *syntax.Assign:
		quoteWordEscapes(n.Value, false)
	case *syntax.ArrayElem:
		if n.Index != nil { // [key]=value, not a list of fields
			quoteWordEscapes(n.Value, false)
			quoteTestEscapes(n.Index)
		}
	case *syntax.Redirect:
		if n.Op != syntax.Hdoc && n.Op != syntax.DashHdoc { // a here-document's word is its delimiter
			quoteWordEscapes(n.Word, false)
		}
	case *syntax.CaseClause:
		quoteWordEscapes(n.Word, false)
	case *syntax.UnaryTest:
		quoteTestEscapes(n.X)
	case *syntax.BinaryTest:
		quoteTestEscapes(n.X)
		if !isPatternTest(n.Op) {
			quoteTestEscapes(n.Y)
		}
	}
}

// isValueExpansion says whether the word of ${X<op>word} is a value, not
// a pattern.
func isValueExpansion(op syntax.ParExpOperator) bool {
	switch op {
	case syntax.AlternateUnset, syntax.AlternateUnsetOrNull, syntax.DefaultUnset, syntax.DefaultUnsetOrNull,
		syntax.ErrorUnset, syntax.ErrorUnsetOrNull, syntax.AssignUnset, syntax.AssignUnsetOrNull:
		return true
	}
	return false
}

// isPatternTest says whether the right operand of a [[ ]] test is a pattern
// or a regular expression, where a backslash means what the matcher says.
func isPatternTest(op syntax.BinTestOperator) bool {
	switch op {
	case syntax.TsMatchShort, syntax.TsMatch, syntax.TsNoMatch, syntax.TsReMatch:
		return true
	}
	return false
}

// quoteTestEscapes quotes the escapes of a test operand or array index
// that is a word.
func quoteTestEscapes(x syntax.Node) {
	if w, ok := x.(*syntax.Word); ok {
		quoteWordEscapes(w, false)
	}
}

// doubleQuoteEscapes are the characters that a backslash escapes within
// double quotes; before others, it is itself.
const doubleQuoteEscapes = "$`\\\"}\n"

func quoteWordEscapes(w *syntax.Word, inDouble bool) {
	if w == nil {
		return
	}
	parts := make([]syntax.WordPart, 0, len(w.Parts))
	for _, part := range w.Parts {
		if lit, ok := part.(*syntax.Lit); ok && strings.Contains(lit.Value, `\`) {
			parts = append(parts, splitEscapes(lit, inDouble)...)
			continue
		}
		parts = append(parts, part)
	}
	if len(parts) == 0 { // all escaped newlines: the interpreter wants a part
		parts = append(parts, &syntax.Lit{})
	}
	w.Parts = parts
}

// splitEscapes turns a literal with escapes into literals and single-quoted
// characters; an escaped newline goes, as it does in a shell, and a
// backslash at the end stays.
func splitEscapes(lit *syntax.Lit, inDouble bool) []syntax.WordPart {
	var parts []syntax.WordPart
	add := func(s string, quoted bool) {
		switch {
		case s == "":
		case quoted:
			parts = append(parts, &syntax.SglQuoted{Left: lit.ValuePos, Right: lit.ValueEnd, Value: s})
		default:
			parts = append(parts, &syntax.Lit{ValuePos: lit.ValuePos, ValueEnd: lit.ValueEnd, Value: s})
		}
	}
	s := lit.Value
	for {
		i := strings.IndexByte(s, '\\')
		if i < 0 || i == len(s)-1 {
			break
		}
		_, size := utf8.DecodeRuneInString(s[i+1:])
		c := s[i+1 : i+1+size]
		if inDouble && !strings.Contains(doubleQuoteEscapes, c) {
			add(s[:i+1+size], false)
		} else {
			add(s[:i], false)
			if c != "\n" {
				add(c, true)
			}
		}
		s = s[i+1+size:]
	}
	add(s, false)
	return parts
}
