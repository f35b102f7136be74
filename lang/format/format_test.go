package format

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"unsafe"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/rogpeppe/go-internal/txtar"

	"github.com/meshc/meshc/internal/golden"
	"github.com/meshc/meshc/lang"
)

// TestGolden formats the in.mesh section of each testdata/*.txtar file and
// compares the result with its want.mesh section, which must itself be
// formatted already.
func TestGolden(t *testing.T) {
	for _, path := range golden.Glob(t, "testdata/*.txtar") {
		t.Run(strings.TrimSuffix(filepath.Base(path), ".txtar"), func(t *testing.T) {
			ar := golden.Load(t, path)
			in := ar.Section(t, "in.mesh")
			got, err := Format("in.mesh", in)
			if err != nil {
				t.Fatalf("Format: %v", err)
			}
			checkProperties(t, in, got)
			ar.Check(t, "want.mesh", string(got))
		})
	}
}

// TestRoundTrip formats every mesh source of the repository: the .mesh
// files under examples and lang/testdata and the .mesh sections of the
// txtar files there, except those under errors or syntax directories,
// which are broken on purpose.
func TestRoundTrip(t *testing.T) {
	var n int
	for _, root := range []string{"../../examples", "../testdata"} {
		err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() && (d.Name() == "errors" || d.Name() == "syntax") {
				return filepath.SkipDir
			}
			for name, src := range meshSources(t, path) {
				n++
				t.Run(name, func(t *testing.T) {
					got, err := Format(name, src)
					if err != nil {
						t.Fatalf("Format: %v", err)
					}
					checkProperties(t, src, got)
				})
			}
			return nil
		})
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
	}
	if n == 0 {
		t.Fatal("no mesh sources found")
	}
}

// meshSources returns the mesh sources held in the file at path, by name.
func meshSources(t *testing.T, path string) map[string][]byte {
	switch filepath.Ext(path) {
	case ".mesh":
		src, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		return map[string][]byte{path: src}
	case ".txtar":
		ar, err := txtar.ParseFile(path)
		if err != nil {
			t.Fatal(err)
		}
		srcs := map[string][]byte{}
		for _, f := range ar.Files {
			if strings.HasSuffix(f.Name, ".mesh") {
				srcs[path+"/"+f.Name] = f.Data
			}
		}
		return srcs
	}
	return nil
}

// checkProperties checks that got, the formatted src, is a fixed point of
// Format and holds the same declarations, tokens and comments as src.
func checkProperties(t *testing.T, src, got []byte) {
	t.Helper()
	again, err := Format("got.mesh", got)
	if err != nil {
		t.Fatalf("formatted output does not parse: %v\n%s", err, got)
	}
	if !bytes.Equal(got, again) {
		t.Errorf("not idempotent (-first +second):\n%s", cmp.Diff(string(got), string(again)))
	}
	if a, b := tokens(string(src)), tokens(string(got)); !slices.Equal(a, b) {
		t.Errorf("tokens changed (-src +formatted):\n%s", cmp.Diff(a, b))
	}
	before, _ := lang.Parse("f.mesh", src)
	after, _ := lang.Parse("f.mesh", got)
	if a, b := comments(before), comments(after); !slices.Equal(a, b) {
		t.Errorf("comments changed (-src +formatted):\n%s", cmp.Diff(a, b))
	}
	if !reflect.DeepEqual(withoutPositions(before), withoutPositions(after)) {
		t.Errorf("syntax tree changed (-src +formatted):\n%s", cmp.Diff(before, after, astOptions))
	}
}

// astOptions compare syntax trees without positions and comments.
var astOptions = cmp.Options{cmpopts.IgnoreTypes(lang.Span{}), cmpopts.IgnoreFields(lang.File{}, "Comments"),
	// Some nodes keep parts in fields of their own, such as a reference's
	// arguments.
	cmp.Exporter(func(t reflect.Type) bool { return t.PkgPath() == "github.com/meshc/meshc/lang" })}

// withoutPositions zeroes every span in f's declarations, in place, and
// returns them: reflect.DeepEqual on the result is much cheaper than
// cmp.Equal with options, which took most of the fuzz target's time.
func withoutPositions(f *lang.File) []lang.Decl {
	zeroSpans(reflect.ValueOf(f.Decls))
	return f.Decls
}

func zeroSpans(v reflect.Value) {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			zeroSpans(v.Elem())
		}
	case reflect.Slice:
		for i := range v.Len() {
			zeroSpans(v.Index(i))
		}
	case reflect.Struct:
		if v.Type() == reflect.TypeFor[lang.Span]() {
			v.SetZero()
			return
		}
		for i := range v.NumField() {
			f := v.Field(i)
			if !f.CanSet() && f.CanAddr() {
				// A field of the node's own, such as a reference's
				// arguments: reflect reads it but sets nothing through it.
				f = reflect.NewAt(f.Type(), unsafe.Pointer(f.UnsafeAddr())).Elem()
			}
			zeroSpans(f)
		}
	}
}

// comments lists the comment texts of f in order, line comments without
// their trailing blanks, as the formatter prints them.
func comments(f *lang.File) []string {
	var texts []string
	for _, c := range f.Comments {
		texts = append(texts, commentText(c))
	}
	return texts
}

// tokens splits src into token values, leaving out blanks, comments and
// the separators the formatter may add or drop: commas, and the optional
// = before an object value.
func tokens(src string) []string {
	src = strings.TrimPrefix(src, "\uFEFF")
	var toks []string
	for i := 0; i < len(src); {
		n := tokenLen(src[i:])
		if tok := src[i : i+n]; strings.TrimSpace(tok) != "" && !strings.HasPrefix(tok, "//") && !strings.HasPrefix(tok, "/*") {
			toks = append(toks, tok)
		}
		i += n
	}
	var kept []string
	for i, tok := range toks {
		if tok == "," || tok == "=" && i+1 < len(toks) && toks[i+1] == "{" {
			continue
		}
		kept = append(kept, tok)
	}
	return kept
}

// tokenLen returns the length of the token, blank or comment at the start
// of s, following the rules of the lang scanner.
func tokenLen(s string) int {
	c := s[0]
	end := func(stop string, from, extra int) int {
		if i := strings.Index(s[from:], stop); i >= 0 {
			return from + i + extra
		}
		return len(s)
	}
	switch {
	case strings.HasPrefix(s, "//"):
		return end("\n", 2, 0)
	case strings.HasPrefix(s, "/*"):
		return end("*/", 2, 2)
	case c == '`':
		return end("`", 1, 1)
	case c == '"':
		for i := 1; i < len(s); i++ {
			if s[i] == '\\' {
				i++
			} else if s[i] == '"' {
				return i + 1
			}
		}
		return len(s)
	case strings.HasPrefix(s, "->"):
		return 2
	case isLetter(c):
		i := 1
		for i < len(s) && (isLetter(s[i]) || isDigit(s[i]) || s[i] == '-' && i+1 < len(s) && (isLetter(s[i+1]) || isDigit(s[i+1]))) {
			i++
		}
		return i
	case isDigit(c) || (c == '-' || c == '.') && len(s) > 1 && isDigit(s[1]):
		i := 1
		for i < len(s) && (isLetter(s[i]) || isDigit(s[i]) || s[i] == '.' || (s[i] == '+' || s[i] == '-') && (s[i-1]|0x20) == 'e') {
			i++
		}
		return i
	}
	return 1
}

func isLetter(c byte) bool { return c == '_' || (c|0x20 >= 'a' && c|0x20 <= 'z') }
func isDigit(c byte) bool  { return c >= '0' && c <= '9' }

// TestFormatErrors checks that a source that does not parse yields its
// diagnostics and no text.
func TestFormatErrors(t *testing.T) {
	for name, src := range map[string]string{
		"empty":          "",
		"comments only":  "// nothing\n",
		"unclosed brace": "mesh a {\n  tenant = \"t\"\n",
		"missing value":  "param p int =\n",
		"bad char":       "topic t string $\n",
		"second broken":  "topic a string\ntopic b\n",
	} {
		t.Run(name, func(t *testing.T) {
			got, err := Format("bad.mesh", []byte(src))
			if err == nil {
				t.Fatalf("want an error, got:\n%s", got)
			}
			if got != nil {
				t.Errorf("want no text with the error, got:\n%s", got)
			}
			var diags lang.Diagnostics
			if !errors.As(err, &diags) || len(diags) == 0 {
				t.Errorf("want lang.Diagnostics, got %T: %v", err, err)
			}
		})
	}
}

// TestLayout checks single layout rules on small inputs.
func TestLayout(t *testing.T) {
	long := "[" + strings.Repeat(`"abcdefgh", `, 8) + `"abcdefgh"]`
	for _, tc := range []struct {
		name, in, want string
	}{
		{"one line", `mesh a { tenant = "t" namespace = "n" } topic x string external`,
			"mesh a {\n  tenant = \"t\"\n  namespace = \"n\"\n}\n\ntopic x string external\n"},
		{"commas dropped", `mesh a { tenant = "t", namespace = "n", }`,
			"mesh a {\n  tenant = \"t\"\n  namespace = \"n\"\n}\n"},
		{"object value", "mesh a { o = { k = 1 } }", "mesh a {\n  o {\n    k = 1\n  }\n}\n"},
		{"empty body", "function f(a) -> b {  }", "function f(a) -> b {}\n"},
		{"list fits", "mesh a { l = [1,2,\n 3,] }", "mesh a {\n  l = [1, 2, 3]\n}\n"},
		{"list too long", "mesh a { l = " + long + " }",
			"mesh a {\n  l = [\n" + strings.Repeat("    \"abcdefgh\",\n", 9) + "  ]\n}\n"},
		{"list of objects", "mesh a { l = [{a=1}, {}] }", "mesh a {\n  l = [\n    { a = 1 },\n    {},\n  ]\n}\n"},
		{"crlf", "mesh a {\r\n  tenant = \"t\" // c \r\n}\r\n", "mesh a {\n  tenant = \"t\" // c\n}\n"},
		{"bom", "\uFEFFtopic t string", "topic t string\n"},
		{"blank lines squeezed", "topic a string\n\n\n\ntopic b string\ntopic c string\n\n\n",
			"topic a string\n\ntopic b string\ntopic c string\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Format("x.mesh", []byte(tc.in))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, string(got)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			checkProperties(t, []byte(tc.in), got)
		})
	}
}

// TestTokens checks the test's own tokenizer, on which the other tests rely.
func TestTokens(t *testing.T) {
	got := tokens("mesh a-b { x = [1, -2.5e-3, 30s] y = {} // c\n z = `r\n` /* d */ w = \"q\\\"\" } f(a) -> b")
	want := []string{"mesh", "a-b", "{", "x", "=", "[", "1", "-2.5e-3", "30s", "]", "y", "{", "}",
		"z", "=", "`r\n`", "w", "=", `"q\""`, "}", "f", "(", "a", ")", "->", "b"}
	if !slices.Equal(got, want) {
		t.Errorf("got %q\nwant %q", got, want)
	}
}
