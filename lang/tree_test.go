package lang

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"unsafe"

	"github.com/meshc/meshc/internal/golden"
)

// TestTreeGolden prints the tree of each testdata/constructs/*.txtar file's
// in.mesh and compares it with testdata/tree/NAME.tree; topic's JSON is kept
// as testdata/tree/topic.json, to show the JSON layout too. Run with -update
// to rewrite them.
func TestTreeGolden(t *testing.T) {
	for _, path := range golden.Glob(t, "testdata/constructs/*.txtar") {
		name := strings.TrimSuffix(filepath.Base(path), ".txtar")
		t.Run(name, func(t *testing.T) {
			f := parseOK(t, golden.Load(t, path).Section(t, "in.mesh"))
			var b bytes.Buffer
			if err := f.WriteTree(&b); err != nil {
				t.Fatal(err)
			}
			golden.File(t, filepath.Join("testdata", "tree", name+".tree"), b.Bytes())
			if name == "topic" {
				golden.File(t, filepath.Join("testdata", "tree", name+".json"), indentedJSON(t, f))
			}
		})
	}
}

func parseOK(t *testing.T, src []byte) *File {
	t.Helper()
	f, diags := Parse("in.mesh", src)
	if len(diags) > 0 {
		t.Fatalf("want no errors, got:\n%s", diags)
	}
	return f
}

func indentedJSON(t *testing.T, f *File) []byte {
	t.Helper()
	raw, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return append(raw, '\n')
}

// TestTreePartial prints the trees that syntax errors leave half built: the
// printer must not trip over missing parts.
func TestTreePartial(t *testing.T) {
	for _, path := range golden.Glob(t, "testdata/syntax/*.txtar") {
		f, _ := Parse("in.mesh", golden.Load(t, path).Section(t, "in.mesh"))
		if f == nil {
			continue
		}
		if err := f.WriteTree(new(bytes.Buffer)); err != nil {
			t.Errorf("%s: %v", path, err)
		}
	}
}

var camelKey = regexp.MustCompile(`^[a-z][a-zA-Z0-9]*$`)

// TestJSONKeys encodes a file in which every field of every node type is
// set, each declaration kind included, and checks that every key is lower
// camelCase: no Go field name (Pos, Filename, Text) leaks through.
func TestJSONKeys(t *testing.T) {
	f := &File{}
	fill(reflect.ValueOf(f).Elem(), 5) // deep enough to reach every node type
	raw, err := json.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	var doc any
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	checkKeys(t, doc, seen)
	// One key of each node type shows that fill reached them all.
	for _, want := range []string{
		"kind", "pos", "end", "filename", "offset", "line", "column", "name", "decls", "comments", "text",
		"body", "default", "schema", "flags", "inputs", "output", "record", "optional", "fields",
		"attrs", "key", "value", "list", "items", "object", "ref", "parts", "typeArgs", "args", "values",
	} {
		if !seen[want] {
			t.Errorf("no %q key in the JSON", want)
		}
	}
}

func checkKeys(t *testing.T, v any, seen map[string]bool) {
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			if !camelKey.MatchString(k) {
				t.Errorf("key %q is not lower camelCase", k)
			}
			seen[k] = true
			checkKeys(t, x, seen)
		}
	case []any:
		for _, x := range v {
			checkKeys(t, x, seen)
		}
	}
}

var declTypes = []Decl{&Mesh{}, &Param{}, &TypeDecl{}, &Topic{}, &Function{}, &Source{}, &Sink{}}

// filled counts the values fill has set.
var filled int

// fill sets every field of v, following pointers depth levels down; a
// []Decl gets one declaration of each kind.
func fill(v reflect.Value, depth int) {
	switch v.Kind() {
	case reflect.Pointer:
		if depth > 0 {
			v.Set(reflect.New(v.Type().Elem()))
			fill(v.Elem(), depth-1)
		}
	case reflect.Slice:
		s := reflect.MakeSlice(v.Type(), 1, 1)
		if v.Type() == reflect.TypeFor[[]Decl]() {
			s = reflect.MakeSlice(v.Type(), 0, len(declTypes))
			for _, d := range declTypes {
				p := reflect.New(reflect.TypeOf(d).Elem())
				fill(p.Elem(), depth)
				s = reflect.Append(s, p)
			}
		} else {
			fill(s.Index(0), depth)
		}
		v.Set(s)
	case reflect.Struct:
		if v.Type() == reflect.TypeFor[Span]() {
			at := NewPos("x", 1, 1, 2)
			v.Set(reflect.ValueOf(SpanOf(at, at)))
			return
		}
		if v.Type() == reflect.TypeFor[Value]() {
			// A value has one part: each kind in turn.
			parts := []reflect.Type{reflect.TypeFor[*List](), reflect.TypeFor[*Object](), reflect.TypeFor[*Ref]()}
			part := reflect.New(parts[filled%len(parts)]).Elem()
			filled++
			fill(part, depth)
			v.Addr().Interface().(*Value).node = part.Interface()
		}
		for i := range v.NumField() {
			f := v.Field(i)
			if !f.CanSet() {
				// A field of the node's own, such as a reference's arguments.
				f = reflect.NewAt(f.Type(), unsafe.Pointer(f.UnsafeAddr())).Elem()
			}
			fill(f, depth)
		}
	case reflect.String:
		v.SetString("x")
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int:
		v.SetInt(1)
	}
}

// TestJSONDecls checks that each declaration is tagged by its keyword and
// that nodes keep their fields' order, position first.
func TestJSONDecls(t *testing.T) {
	f := parseOK(t, []byte("topic t string external\nsink s(t)\n"))
	raw, err := json.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`{"name":"in.mesh","decls":[{"kind":"topic","pos":{"filename":"in.mesh","offset":0,"line":1,"column":1},"end":`,
		`"flags":[{"pos":`,
		`{"kind":"sink","pos":{"filename":"in.mesh","offset":24,"line":2,"column":1}`,
		`"inputs":[{"pos":`,
	} {
		if !strings.Contains(string(raw), want) {
			t.Errorf("JSON lacks %s:\n%s", want, raw)
		}
	}
}
