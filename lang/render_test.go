package lang

import (
	"fmt"
	"strings"
	"testing"
	"unicode"

	"github.com/google/go-cmp/cmp"
)

// at returns the position of byte offset off in src, as the scanner counts.
func at(src string, off int) Pos {
	line, col := 1, 1
	for _, c := range []byte(src[:off]) {
		if c == '\n' {
			line++
			col = 1
		} else {
			col++
		}
	}
	return NewPos("f.mesh", off, line, col)
}

// TestRenderEscapes checks that snippets and messages show control and
// invalid bytes as escapes, with the caret under the escaped spot.
func TestRenderEscapes(t *testing.T) {
	for _, tc := range []struct {
		name       string
		src        string
		from, to   int // the byte range [from, to) the diagnostic covers
		msg, hint  string
		wantOutput string
	}{{
		name: "plain text is unchanged",
		src:  "mesh a { x = 1 }\n", from: 9, to: 10, msg: "unknown attribute x",
		wantOutput: "f.mesh:1:10: error: unknown attribute x\n  1 | mesh a { x = 1 }\n    |          ^\n",
	}, {
		name: "NUL before the spot widens the caret's indent",
		src:  "ab\x00cd", from: 3, to: 5, msg: "m",
		wantOutput: "f.mesh:1:4: error: m\n  1 | ab\\x00cd\n    |       ^^\n",
	}, {
		name: "the caret covers an escaped byte",
		src:  "mesh a {\x00}", from: 8, to: 9, msg: `unexpected character '\x00'`,
		wantOutput: "f.mesh:1:9: error: unexpected character '\\x00'\n  1 | mesh a {\\x00}\n    |         ^^^^\n",
	}, {
		name: "invalid UTF-8 and a terminal escape sequence",
		src:  "x\xff\x1b[31my", from: 7, to: 8, msg: "m",
		wantOutput: "f.mesh:1:8: error: m\n  1 | x\\xff\\x1b[31my\n    |              ^\n",
	}, {
		name: "tabs stay, so the caret lines up in a terminal",
		src:  "\tx\x01 y", from: 4, to: 5, msg: "m",
		wantOutput: "f.mesh:1:5: error: m\n  1 | \tx\\x01 y\n    | \t      ^\n",
	}, {
		name: "printable multi-byte characters take one column",
		src:  "é = 1", from: 3, to: 4, msg: "m",
		wantOutput: "f.mesh:1:4: error: m\n  1 | é = 1\n    |   ^\n",
	}, {
		name: "unprintable Unicode such as a bidi override",
		src:  "a\u202eb c", from: 6, to: 7, msg: "m",
		wantOutput: "f.mesh:1:7: error: m\n  1 | a\\u202eb c\n    |          ^\n",
	}, {
		name: "CR of a CRLF line is not shown",
		src:  "a b\r\nc", from: 2, to: 3, msg: "m",
		wantOutput: "f.mesh:1:3: error: m\n  1 | a b\n    |   ^\n",
	}, {
		name: "message and hint quoting raw bytes of the file",
		src:  "topic \"a\x1b[2Jb\" string", from: 6, to: 14, msg: "expected a name, found string \"a\x1b[2Jb\"", hint: "not \x00 this",
		wantOutput: "f.mesh:1:7: error: expected a name, found string \"a\\x1b[2Jb\"\n" +
			"  1 | topic \"a\\x1b[2Jb\" string\n    |       ^^^^^^^^^^^\n  hint: not \\x00 this\n",
	}} {
		t.Run(tc.name, func(t *testing.T) {
			d := Errorf(at(tc.src, tc.from), at(tc.src, tc.to), "%s", tc.msg)
			d.Hint = tc.hint
			got := Sources{"f.mesh": []byte(tc.src)}.String(Diagnostics{d})
			if diff := cmp.Diff(tc.wantOutput, got); diff != "" {
				t.Errorf("Render (-want +got):\n%s", diff)
			}
		})
	}
}

// TestRenderRelatedEscapes checks the notes of related places.
func TestRenderRelatedEscapes(t *testing.T) {
	src := "topic t\x00 string\n"
	d := Errorf(at(src, 6), at(src, 7), "duplicate topic t")
	d.Related = []Related{{Pos: at(src, 6), End: at(src, 8), Message: "first \x07declared here"}}
	want := "f.mesh:1:7: error: duplicate topic t\n  1 | topic t\\x00 string\n    |       ^\n" +
		"  f.mesh:1:7: note: first \\x07declared here\n  1 | topic t\\x00 string\n    |       ^^^^^\n"
	if diff := cmp.Diff(want, Sources{"f.mesh": []byte(src)}.String(Diagnostics{d})); diff != "" {
		t.Errorf("Render (-want +got):\n%s", diff)
	}
}

// TestRenderBinaryIsPrintable renders the diagnostics of a file holding
// every byte value: the output must hold no byte a terminal would act on.
func TestRenderBinaryIsPrintable(t *testing.T) {
	var b []byte
	for i := range 3 * 256 {
		b = append(b, byte(i*7))
	}
	_, diags := Parse("f.mesh", b)
	out := Sources{"f.mesh": b}.String(diags)
	for _, r := range out {
		if r != '\n' && r != '\t' && !unicode.IsPrint(r) {
			t.Fatalf("rendered %q; want escapes only:\n%s", r, out)
		}
	}
}

// TestDiagnosticErrorEscapes checks Error, which has no snippet.
func TestDiagnosticErrorEscapes(t *testing.T) {
	d := Errorf(NewPos("f.mesh", 0, 2, 3), Pos{}, "found string \"\x1b]0;x\x07\"").WithHint("a\xffb")
	want := `f.mesh:2:3: error: found string "\x1b]0;x\x07" (a\xffb)`
	if diff := cmp.Diff(want, d.Error()); diff != "" {
		t.Errorf("Error (-want +got):\n%s", diff)
	}
}

// TestCappedCounts checks that the note ending a capped list says how many
// errors were found and carries the number left out.
func TestCappedCounts(t *testing.T) {
	for _, n := range []int{MaxErrors - 1, MaxErrors, MaxErrors + 1, 1000} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			_, diags := Parse("f.mesh", []byte(strings.Repeat("\x01", n)))
			var got []string
			omitted := 0
			for _, d := range diags {
				omitted += d.Omitted
				if d.Omitted > 0 {
					got = append(got, d.Message)
				}
			}
			var want []string
			if n > MaxErrors {
				want = []string{fmt.Sprintf("too many errors: showing the first %d of %d; fix these first", MaxErrors, n)}
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("notes (-want +got):\n%s", diff)
			}
			if shown := len(diags) - len(got); shown+omitted != n || shown > MaxErrors {
				t.Errorf("%d shown + %d omitted, want %d in all, at most %d shown", shown, omitted, n, MaxErrors)
			}
		})
	}
}
