package format

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/rogpeppe/go-internal/txtar"

	"github.com/meshc/meshc/lang"
)

// goldenInputs returns the in.mesh sections of the golden files.
func goldenInputs(t *testing.T) map[string]string {
	files, _ := filepath.Glob("testdata/*.txtar")
	inputs := map[string]string{}
	for _, path := range files {
		ar, err := txtar.ParseFile(path)
		if err != nil {
			t.Fatal(err)
		}
		inputs[filepath.Base(path)] = string(section(t, ar, "in.mesh"))
	}
	return inputs
}

// tokenEnds returns the offsets right after each token of src, where
// blanks or comments may be inserted without changing the tokens.
func tokenEnds(src string) []int {
	var ends []int
	for i := 0; i < len(src); {
		n := tokenLen(src[i:])
		if tok := src[i : i+n]; strings.TrimSpace(tok) != "" && !strings.HasPrefix(tok, "//") && !strings.HasPrefix(tok, "/*") {
			ends = append(ends, i+n)
		}
		i += n
	}
	return ends
}

// TestCommentsAnywhere inserts a comment after every token of the golden
// inputs and checks that each variant formats to a fixed point that keeps
// every comment.
func TestCommentsAnywhere(t *testing.T) {
	for name, src := range goldenInputs(t) {
		for _, comment := range []string{" /* c */ ", "// c\n", "\n/* c\n */\n"} {
			for _, at := range tokenEnds(src) {
				in := src[:at] + comment + src[at:]
				if _, diags := lang.Parse("in.mesh", []byte(in)); len(diags) > 0 {
					continue // a comment cannot end a line inside a double-quoted string or the like
				}
				got, err := Format("in.mesh", []byte(in))
				if err != nil {
					t.Fatalf("%s, %q at %d: %v", name, comment, at, err)
				}
				ok := t.Run(name, func(t *testing.T) { checkProperties(t, []byte(in), got) })
				if !ok {
					t.Fatalf("input:\n%s", in)
				}
			}
		}
	}
}

// TestLayoutIgnored checks that, in a file without comments, breaking a
// line after any token changes nothing in the output: the layout is the
// formatter's, except for blank lines.
func TestLayoutIgnored(t *testing.T) {
	for name, src := range goldenInputs(t) {
		if strings.Contains(src, "/") || strings.Contains(src, "`") {
			continue // comments move with the lines; raw strings hold layout
		}
		want, err := Format("in.mesh", []byte(src))
		if err != nil {
			t.Fatal(err)
		}
		for _, at := range tokenEnds(src) {
			if at == len(src) || src[at] == '\n' || at > 0 && src[at-1] == '\n' {
				continue // that would make a blank line
			}
			in := src[:at] + "\n" + src[at:]
			got, err := Format("in.mesh", []byte(in))
			if err != nil {
				continue // a keyword in column 1 ends a declaration
			}
			if diff := cmp.Diff(string(want), string(got)); diff != "" {
				t.Errorf("%s: line break at %d changed the output (-want +got):\n%s", name, at, diff)
			}
		}
	}
}
