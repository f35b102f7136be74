package lang

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestParseTests parses test files and compares the diagnostics, by
// position and message, and the names of the cases parsed.
func TestParseTests(t *testing.T) {
	tests := []struct {
		name  string
		src   string
		cases []string
		diags []string
	}{
		{name: "two cases", src: "test a { send { x = 1 } }\ntest b {}", cases: []string{"a", "b"}},
		{name: "empty", src: "", diags: []string{"1:1: empty file: no declarations"}},
		{name: "mesh declaration", src: "mesh m {}\ntest a {}", cases: []string{"a"},
			diags: []string{`1:1: expected a declaration, found name "mesh"`}},
		{name: "no body", src: "test a\ntest b {}", cases: []string{"b"},
			diags: []string{`1:7: expected "{", found the end of the test declaration (the next declaration starts at 2:1)`}},
		{name: "no name", src: "test { }", diags: []string{`1:6: expected a name, found "{"`}},
		{name: "broken value", src: "test a { send { x = } }", diags: []string{`1:21: expected a value, found "}"`}},
		{name: "topic named test", src: "test a { send { test = [1] } }", cases: []string{"a"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, diags := ParseTests("x.meshtest", []byte(tt.src))
			var cases, got []string
			for _, d := range f.Decls {
				cases = append(cases, d.(*Test).Name.Name)
			}
			for _, d := range diags {
				got = append(got, fmt.Sprintf("%d:%d: %s", d.Pos.Line(), d.Pos.Column(), d.Message))
			}
			if diff := cmp.Diff(tt.cases, cases); diff != "" {
				t.Errorf("cases (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.diags, got); diff != "" {
				t.Errorf("diagnostics (-want +got):\n%s", diff)
			}
		})
	}
}

// TestTestFilePositions checks that every node of a parsed test file
// carries its exact span: each node's text starts and ends where it says.
func TestTestFilePositions(t *testing.T) {
	src, err := os.ReadFile("testdata/meshtest/cases.meshtest")
	if err != nil {
		t.Fatal(err)
	}
	f, diags := ParseTests("cases.meshtest", src)
	if len(diags) > 0 {
		t.Fatalf("unexpected errors:\n%s", diags)
	}
	tc := f.Decls[0].(*Test)
	if got := string(src[tc.Name.Start().Offset():tc.Name.End().Offset()]); got != "everything" {
		t.Errorf("name span holds %q", got)
	}
	for _, a := range tc.Body.Attrs {
		text := string(src[a.Start().Offset():a.End().Offset()])
		if text[:len(a.Key().Name)] != a.Key().Name {
			t.Errorf("attribute %s starts with %q", a.Key().Name, text)
		}
		if last := text[len(text)-1]; last == ' ' || last == '\n' {
			t.Errorf("attribute %s ends in blank", a.Key().Name)
		}
	}
}

// FuzzParseTests checks that any input yields test cases or positioned
// diagnostics, never a panic, and that every position lies in the input.
func FuzzParseTests(f *testing.F) {
	for _, pattern := range []string{"testdata/meshtest/*.meshtest", "../examples/*.meshtest", "../examples/*/*.meshtest"} {
		files, _ := filepath.Glob(pattern)
		for _, path := range files {
			if src, err := os.ReadFile(path); err == nil {
				f.Add(src)
			}
		}
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		file, diags := ParseTests("f.meshtest", src)
		for _, d := range diags {
			checkPos(t, src, d.Pos, d.End)
		}
		if len(diags) == 0 && len(file.Decls) == 0 {
			t.Fatal("no declarations and no diagnostics")
		}
		for _, d := range file.Decls {
			checkPos(t, src, d.Start(), d.End())
			if _, ok := d.(*Test); !ok {
				t.Fatalf("a %T in a test file", d)
			}
		}
		_ = Sources{"f.meshtest": src}.String(diags)
	})
}
