package nomad

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/hashicorp/hcl/v2/hclsyntax"
	"golang.org/x/text/unicode/norm"
)

// The string writers below give the bytes of hclwrite.TokensForValue and
// of encoding/json (HTML left as it is), without their syntax tokens and
// cty values, which cost more than the rest of writing a job; the tests
// hold them to those libraries.

const hexDigits = "0123456789abcdef"

// appendHCLString appends s as a quoted HCL string: normalized to NFC as
// cty normalizes every string, with ${ and %{ doubled so they stay text.
func appendHCLString(b []byte, s string) []byte {
	if !isASCII(s) {
		s = norm.NFC.String(s)
	}
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c < 0x7f && c != '"' && c != '\\' && c != '$' && c != '%' {
			i++
			continue
		}
		b = append(b, s[start:i]...)
		r, size := rune(c), 1
		if c >= utf8.RuneSelf {
			r, size = utf8.DecodeRuneInString(s[i:])
		}
		b = appendHCLRune(b, r, strings.HasPrefix(s[i+size:], "{"))
		i += size
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// appendHCLRune appends r escaped as in a quoted HCL string; a $ or %
// before a { is doubled. An invalid byte arrives as utf8.RuneError and is
// written as that rune, as hclwrite writes it.
func appendHCLRune(b []byte, r rune, beforeBrace bool) []byte {
	switch r {
	case '\n':
		return append(b, '\\', 'n')
	case '\r':
		return append(b, '\\', 'r')
	case '\t':
		return append(b, '\\', 't')
	case '"', '\\':
		return append(b, '\\', byte(r))
	case '$', '%':
		if beforeBrace {
			b = append(b, byte(r))
		}
		return append(b, byte(r))
	}
	if unicode.IsPrint(r) {
		return utf8.AppendRune(b, r)
	}
	if r < 1<<16 {
		return appendHex(append(b, '\\', 'u'), uint32(r), 4)
	}
	return appendHex(append(b, '\\', 'U'), uint32(r), 8)
}

// appendHex appends the n lowest hex digits of v.
func appendHex(b []byte, v uint32, n int) []byte {
	for i := n - 1; i >= 0; i-- {
		b = append(b, hexDigits[v>>(4*i)&0xf])
	}
	return b
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// validIdentifier tells whether s is an HCL identifier, as
// hclsyntax.ValidIdentifier does, which runs the scanner: an ASCII name is
// checked here.
func validIdentifier(s string) bool {
	if !isASCII(s) {
		return hclsyntax.ValidIdentifier(s)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		letter := c == '_' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
		if !letter && (i == 0 || c != '-' && (c < '0' || c > '9')) {
			return false
		}
	}
	return s != ""
}

// heredocText tells whether s is text of whole lines, which reads best as
// a heredoc (templates): it ends in a newline and no line of it is the
// heredoc's end marker.
func heredocText(s string) bool {
	if !strings.HasSuffix(s, "\n") {
		return false
	}
	for i := 0; ; {
		// The marker's letters are rare in a plan, where its first
		// newline is in every line.
		j := strings.Index(s[i:], heredocEnd+"\n")
		if j < 0 {
			return true
		}
		if j += i; j == 0 || s[j-1] == '\n' {
			return false
		}
		i = j + 1
	}
}

const heredocEnd = "EOT"

// appendHeredoc appends s as an HCL heredoc and a newline, with HCL's own
// template sequences ${ and %{ doubled so the text arrives as it is.
func appendHeredoc(b []byte, s string) []byte {
	b = append(b, "<<"+heredocEnd+"\n"...)
	dollar, percent := indexFrom(s, "${", 0), indexFrom(s, "%{", 0)
	done := 0
	for dollar >= 0 || percent >= 0 {
		i := dollar
		if i < 0 || percent >= 0 && percent < i {
			i = percent
		}
		b = append(b, s[done:i+1]...)
		b = append(b, s[i])
		done = i + 1
		if i == dollar {
			dollar = indexFrom(s, "${", done)
		} else {
			percent = indexFrom(s, "%{", done)
		}
	}
	b = append(b, s[done:]...)
	return append(b, heredocEnd+"\n"...)
}

// indexFrom is the index of the first sub in s at or after from, or -1.
func indexFrom(s, sub string, from int) int {
	i := strings.Index(s[from:], sub)
	if i < 0 {
		return -1
	}
	return from + i
}
