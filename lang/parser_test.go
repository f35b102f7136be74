package lang

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/meshc/meshc/internal/golden"
)

// TestGolden parses each testdata/{constructs,syntax}/*.txtar file's
// in.mesh and compares the AST outline and the rendered diagnostics with
// its want section.
func TestGolden(t *testing.T) {
	for _, path := range golden.Glob(t, "testdata/*/*.txtar") {
		t.Run(strings.TrimSuffix(filepath.Base(path), ".txtar"), func(t *testing.T) {
			ar := golden.Load(t, path)
			src := ar.Section(t, "in.mesh")
			f, diags := Parse("in.mesh", src)
			if strings.Contains(path, "/syntax/") && len(diags) == 0 {
				t.Errorf("want syntax errors, got none")
			}
			if strings.Contains(path, "/constructs/") && len(diags) > 0 {
				t.Errorf("want no errors, got:\n%s", diags)
			}
			ar.Check(t, "want", dump(f)+Sources{"in.mesh": src}.String(diags))
			sameAsWhole(t, "in.mesh", src, f, diags)
		})
	}
}

// TestPositionsInBounds checks that every diagnostic points into the file,
// on inputs built to stress the scanner.
func TestPositionsInBounds(t *testing.T) {
	for name, src := range map[string]string{
		"empty":            "",
		"blank":            " \n\t\n",
		"comment only":     "// nothing here\n/* nor here */",
		"nul":              "mesh a {\x00}",
		"bad utf8":         "mesh a { tenant = \"\xff\" }\n\xfe",
		"unterminated raw": "topic x string { name = `abc",
		"deep":             "mesh a { x = " + strings.Repeat("[", 10000) + strings.Repeat("]", 10000) + " }",
		"deep unclosed":    "mesh a { x = " + strings.Repeat("{a=", 5000),
		"stray closers":    "}}}])mesh a {}",
		"huge int":         "param p int = 99999999999999999999999",
		"bad number":       "param p duration = 30x",
		"lone minus":       "function f(a) - b {}",
		"too large":        strings.Repeat("topic t string external\n", MaxFileSize/24+1),
		"many errors":      strings.Repeat("\xa9", 1000),
	} {
		t.Run(name, func(t *testing.T) {
			_, diags := Parse("x.mesh", []byte(src))
			if len(diags) == 0 {
				t.Fatalf("want a diagnostic for %q", src)
			}
			if len(diags) > MaxErrors+1 {
				t.Errorf("%d diagnostics, want at most %d", len(diags), MaxErrors+1)
			}
			for _, d := range diags {
				if d.Pos.Line() < 1 || d.Pos.Column() < 1 || d.Pos.Offset() > len(src) || d.Pos.Filename() != "x.mesh" {
					t.Errorf("diagnostic out of bounds: %v", d)
				}
			}
		})
	}
}

// TestValidInputs parses inputs that must be accepted as they are.
func TestValidInputs(t *testing.T) {
	for name, src := range map[string]string{
		"one line":    `mesh a { tenant = "t" namespace = "n" } topic x string external topic y string function f(x) -> y { use = builtin.upper }`,
		"bom":         "\uFEFFmesh a {}",
		"commas":      `mesh a { tenant = "t", namespace = "n", }`,
		"crlf":        "mesh a {\r\n  tenant = \"t\"\r\n}\r\n",
		"keyword key": `function f(a) { subscription { type = shared } }`,
	} {
		t.Run(name, func(t *testing.T) {
			if _, diags := Parse("x.mesh", []byte(src)); len(diags) > 0 {
				t.Errorf("unexpected errors:\n%s", diags)
			}
		})
	}
}

// TestParseKeepsNoSource checks that a tree keeps none of the caller's
// bytes, which the parser reads in place: overwriting them after the parse
// changes neither the tree nor its JSON.
func TestParseKeepsNoSource(t *testing.T) {
	for _, path := range golden.Glob(t, "testdata/*/*.txtar") {
		src := append([]byte(nil), golden.Load(t, path).Section(t, "in.mesh")...)
		f, _ := Parse("in.mesh", src)
		before, err := f.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		for i := range src {
			src[i] = '#'
		}
		after, _ := f.MarshalJSON()
		if string(before) != string(after) {
			t.Errorf("%s: the tree changed with its source:\n%s\n%s", path, before, after)
		}
	}
}
