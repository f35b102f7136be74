package kubernetes

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/meshc/meshc/compiler"
	"github.com/meshc/meshc/internal/meshgen"
	"github.com/meshc/meshc/lang"
	"github.com/meshc/meshc/planner"
)

// TestYAMLAsYAMLv3: the YAML of generated meshes of every shape, in both
// flavours, is the text yaml.v3 writes of the same node tree (the
// examples are held by the golden files, written that way).
func TestYAMLAsYAMLv3(t *testing.T) {
	for _, shape := range meshgen.Shapes {
		f, diags := lang.Parse("gen.mesh", meshgen.Generate(shape, 30))
		if diags.HasErrors() {
			t.Fatal(diags)
		}
		m, diags := compiler.Compile([]*lang.File{f}, nil)
		if diags.HasErrors() {
			t.Fatal(diags)
		}
		p := planner.Plan(m, planner.Options{})
		for _, flavour := range []string{Plain, FunctionMesh} {
			o := Options{Flavour: flavour, Image: "meshc/meshrt:1"}
			got, err := Emit(p, o)
			if err != nil {
				t.Fatal(err)
			}
			yamlEncoder = referenceYAML
			want, err := Emit(p, o)
			yamlEncoder = encodeYAML
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("%s %s (-yaml.v3 +got):\n%s", shape, flavour, diff)
			}
		}
	}
}

// FuzzYAML compares encodeYAML with yaml.v3 on strings in every place
// they take: keys, values, list items, nested lists, literal blocks.
func FuzzYAML(f *testing.F) {
	for _, s := range []string{"", " lead", "trail ", "a\nb", "a\n", "a\n\n", "\n", " \n", "\n\na", "y", "No", "0755",
		"a\tb", "é", "\x00", "\ufeff", "line \nx", "x\n ", `"q"`, `back\slash`, "#", ": ", "- a", "{}", "[", "a\r\nb",
		"\u2028", "~", "null", "1e3", "\x7f", "\t\n", "  \n  ", strings.Repeat("k", maxSimpleKey), strings.Repeat("k", maxSimpleKey+1)} {
		f.Add(s, "v")
		f.Add("k", s)
	}
	f.Fuzz(func(t *testing.T, k, v string) {
		obj := map[string]any{
			"apiVersion": "v1", "kind": "X", "status": map[string]any{"a": 1},
			"data":  map[string]any{k: v, "n": nil, "e": map[string]any{}, "l": []any{}},
			"items": []any{v, k, nil, 1.5, true, map[string]any{k: []any{v}, "z": v}, []any{[]any{k}, v}, map[string]any{}},
			"block": v + "\n" + k,
		}
		want, err := referenceYAML(obj, obj)
		if err != nil {
			t.Fatal(err)
		}
		got, err := encodeYAML(obj, obj)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(string(want), string(got)); diff != "" {
			t.Errorf("k=%q v=%q (-yaml.v3 +got):\n%s", k, v, diff)
		}
	})
}
