package format

import (
	"maps"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/meshc/meshc/internal/golden"
	"github.com/meshc/meshc/lang"
)

// goldenInputs returns the in.mesh sections of the golden files.
func goldenInputs(t *testing.T) map[string]string {
	inputs := map[string]string{}
	for _, path := range golden.Glob(t, "testdata/*.txtar") {
		inputs[filepath.Base(path)] = string(golden.Load(t, path).Section(t, "in.mesh"))
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
		for _, comment := range []string{" /* c */ ", "// c\n", "\n/* c\n */\n", "\n\n// c\n\n"} {
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

// TestTricky checks the properties on inputs built to reach corners of the
// layout rules.
func TestTricky(t *testing.T) {
	for name, src := range map[string]string{
		"comment after empty brace":  "mesh a { // x\n}",
		"block comment after brace":  "mesh a { /* x\n\n y */\n\n t = 1 }",
		"crlf block comment":         "mesh a {\r\n /* x\r\n y */\r\n t = 1\r\n}\r\n",
		"carriage return in comment": "// a\rb \t\r\ntopic t string",
		"deep lists":                 "mesh a { x = " + strings.Repeat("[", 60) + "1" + strings.Repeat("]", 60) + " }",
		"deep objects":               "mesh a { x = [" + strings.Repeat("{ a = ", 60) + "1" + strings.Repeat(" }", 60) + "] }",
		"deep records":               "type T " + strings.Repeat("{ a ", 60) + "int" + strings.Repeat(" }", 60),
		"deep comments":              "mesh a { x = [" + strings.Repeat("{ /* c */ a = [", 20) + "1" + strings.Repeat("] }", 20) + "] }",
		"keyword keys":               "function f(a) { subscription { type = shared, topic = mesh, sink = [source] } }",
		"record then list":           "param p { a int }? = [1 /* c */, 2] // d",
		"record then empty object":   "param p { a int } = /* c */ {}",
		"empty record with comments": "topic t {} /* c */ external // d\n",
		"comment before closer line": "topic t { a int } // x\n/* y */ external { r = 1 }",
		"line comments everywhere":   "function // a\nf // b\n( // c\nx // d\n) // e\n-> // f\ny // g\n{ // h\n} // i\n",
		"raw string then comment":    "mesh a { r = `x\ny` // c\n q = [`a\n`, /* d */ 1] }",
		"long call in list":          "mesh a { l = [go(\"" + strings.Repeat("x", 120) + "\"), 1] }",
		"long inline object":         "mesh a { l = [{ k = \"" + strings.Repeat("x", 90) + "\" }] }",
		"comment in type arguments":  "topic t json< /* a */ map< // b\nstring > >? // c",
		"decls on one line":          "topic a string /* a */ topic b /* b */ string mesh m { } /* m */ sink s(a)",
		"hyphen names":               "topic my-topic string function f-1(my-topic) -> out-2 { x = -1 }",
		"bool refs":                  "mesh a { t = true, f = false, r = true.x, c = false(1), g = true<int> }",
	} {
		t.Run(name, func(t *testing.T) {
			if _, diags := lang.Parse("in.mesh", []byte(src)); len(diags) > 0 {
				t.Fatalf("input does not parse: %v", diags)
			}
			got, err := Format("in.mesh", []byte(src))
			if err != nil {
				t.Fatal(err)
			}
			checkProperties(t, []byte(src), got)
			if testing.Verbose() {
				t.Logf("\n%s", got)
			}
		})
	}
}

// TestCommentPairs inserts two comments of random kinds after random tokens
// of the golden inputs, with a fixed seed, to reach comments that meet.
func TestCommentPairs(t *testing.T) {
	kinds := []string{" /* c */ ", "// c\n", "\n/* c\n */\n", "\n\n// c\n\n", "/**/"}
	rng := rand.New(rand.NewPCG(1, 2))
	inputs := goldenInputs(t)
	names := slices.Sorted(maps.Keys(inputs))
	for range 3000 {
		name := names[rng.IntN(len(names))]
		src := inputs[name]
		ends := tokenEnds(src)
		a, b := ends[rng.IntN(len(ends))], ends[rng.IntN(len(ends))]
		if a > b {
			a, b = b, a
		}
		in := src[:a] + kinds[rng.IntN(len(kinds))] + src[a:b] + kinds[rng.IntN(len(kinds))] + src[b:]
		if _, diags := lang.Parse("in.mesh", []byte(in)); len(diags) > 0 {
			continue
		}
		got, err := Format("in.mesh", []byte(in))
		if err != nil {
			t.Fatal(err)
		}
		if !t.Run(name, func(t *testing.T) { checkProperties(t, []byte(in), got) }) {
			t.Fatalf("input:\n%s", in)
		}
	}
}
