package planner

import (
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/meshc/meshc/compiler"
	"github.com/meshc/meshc/internal/golden"
	"github.com/meshc/meshc/lang"
	"github.com/meshc/meshc/planner/plan"
	"github.com/meshc/meshc/runtime/codec"
)

func compile(t *testing.T, name string, src []byte, params map[string]string) *compiler.Mesh {
	t.Helper()
	f, diags := lang.Parse(name, src)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	m, diags := compiler.Compile([]*lang.File{f}, params)
	if diags.HasErrors() {
		t.Fatal(lang.Sources{name: src}.String(diags))
	}
	return m
}

func encode(t *testing.T, p *plan.Plan) string {
	t.Helper()
	data, err := plan.Encode(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// TestGolden plans each testdata/*.txtar's in.mesh and compares the plan
// with its want.json section.
func TestGolden(t *testing.T) {
	for _, path := range golden.Glob(t, "testdata/*.txtar") {
		t.Run(filepath.Base(path), func(t *testing.T) {
			ar := golden.Load(t, path)
			got := encode(t, Plan(compile(t, meshPath(t, ar), ar.Section(t, "in.mesh"), nil), Options{Source: "in.mesh"}))
			ar.Check(t, "want.json", got)
		})
	}
}

// meshPath is in.mesh, in a folder of its own with the archive's schema
// files (.avsc, .proto) when it has any: the mesh names them relative to
// itself.
func meshPath(t *testing.T, ar *golden.Archive) string {
	t.Helper()
	dir := ""
	for _, f := range ar.Files() {
		if strings.HasSuffix(f.Name, ".avsc") || strings.HasSuffix(f.Name, ".proto") {
			if dir == "" {
				dir = t.TempDir()
			}
			if err := os.WriteFile(filepath.Join(dir, f.Name), f.Data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	return filepath.Join(dir, "in.mesh")
}

// examples lists the example meshes, which must plan with their defaults.
func examples(t *testing.T) []string {
	t.Helper()
	var paths []string
	err := filepath.WalkDir("../examples", func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(path, ".mesh") {
			paths = append(paths, path)
		}
		return err
	})
	if err != nil || len(paths) == 0 {
		t.Fatalf("no examples: %v", err)
	}
	return paths
}

// TestExamples compares the plan of every example with its golden file
// under testdata/examples.
func TestExamples(t *testing.T) {
	for _, path := range examples(t) {
		rel := strings.TrimSuffix(filepath.ToSlash(path[len("../examples/"):]), ".mesh")
		t.Run(rel, func(t *testing.T) {
			src, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			got := encode(t, Plan(compile(t, rel+".mesh", src, nil), Options{Source: "examples/" + rel + ".mesh"}))
			golden.File(t, filepath.Join("testdata", "examples", filepath.FromSlash(rel)+".json"), []byte(got))
		})
	}
}

// TestDeterministic plans every example many times, with its declarations
// shuffled (their order means nothing to the language): the bytes must
// never change.
func TestDeterministic(t *testing.T) {
	for _, path := range examples(t) {
		t.Run(filepath.Base(path), func(t *testing.T) {
			src, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			want := encode(t, Plan(compile(t, "a.mesh", src, nil), Options{}))
			rng := rand.New(rand.NewPCG(1, 2))
			for i := range 20 {
				f, _ := lang.Parse("a.mesh", src)
				rng.Shuffle(len(f.Decls), func(i, j int) { f.Decls[i], f.Decls[j] = f.Decls[j], f.Decls[i] })
				m, diags := compiler.Compile([]*lang.File{f}, nil)
				if diags.HasErrors() {
					t.Fatal(diags)
				}
				if got := encode(t, Plan(m, Options{})); got != want {
					t.Fatalf("shuffle %d changes the plan:\n%s", i, cmp.Diff(want, got))
				}
			}
		})
	}
}

// TestParamsAndRescale checks that parameters reach the plan and that a
// replica change keeps every hash.
func TestParamsAndRescale(t *testing.T) {
	src, _ := os.ReadFile("../examples/wordcount.mesh")
	a := Plan(compile(t, "a.mesh", src, nil), Options{})
	b := Plan(compile(t, "a.mesh", src, map[string]string{"replicas": "7"}), Options{})
	if b.Params["replicas"] != "7" {
		t.Errorf("params = %v", b.Params)
	}
	d := Compare(a, b)
	want := []Change{{What: "params", Action: "changed", Fields: []Field{{Path: "replicas", Old: `"2"`, New: `"7"`}}},
		{What: "function split", Action: "changed", Fields: []Field{{Path: "replicas.count", Old: "2", New: "7"}}}}
	if diff := cmp.Diff(want, d.Changes); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// TestSchemasReachTheRuntime checks that every json schema the planner
// writes is one the runtime's codec reads, and enforces.
func TestSchemasReachTheRuntime(t *testing.T) {
	src := []byte(`mesh m {}
type Node {
  value int64
  next Node?
  tags list<string>
  meta map<{ at timestamp, by string? }>
}
topic nodes json<Node> external
sink s(nodes) { use = builtin.stdout }
`)
	p := Plan(compile(t, "m.mesh", src, nil), Options{})
	c, err := codec.New(p.Topics[0].Schema)
	if err != nil {
		t.Fatalf("%v\n%s", err, p.Topics[0].Schema.Definition)
	}
	good := `{"value":1,"tags":[],"meta":{},"next":{"value":2,"tags":["a"],"meta":{"k":{"at":5}}}}`
	if _, err := c.Decode([]byte(good)); err != nil {
		t.Errorf("valid payload refused: %v\n%s", err, p.Topics[0].Schema.Definition)
	}
	bad := `{"value":1,"tags":[],"meta":{"k":{"by":"x"}}}`
	if _, err := c.Decode([]byte(bad)); err == nil || !strings.Contains(err.Error(), `missing required field "at"`) {
		t.Errorf("got %v", err)
	}
}
