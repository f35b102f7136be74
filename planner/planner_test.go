package planner

import (
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/meshc/meshc/compiler"
	"github.com/meshc/meshc/lang"
	"github.com/meshc/meshc/planner/plan"
	"github.com/meshc/meshc/runtime/codec"
	"github.com/rogpeppe/go-internal/txtar"
)

var update = flag.Bool("update", false, "rewrite golden files")

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
	files, _ := filepath.Glob("testdata/*.txtar")
	if len(files) == 0 {
		t.Fatal("no golden files")
	}
	for _, path := range files {
		t.Run(filepath.Base(path), func(t *testing.T) {
			ar, err := txtar.ParseFile(path)
			if err != nil {
				t.Fatal(err)
			}
			got := encode(t, Plan(compile(t, "in.mesh", ar.Files[0].Data, nil), Options{Source: "in.mesh"}))
			i := slices.IndexFunc(ar.Files, func(f txtar.File) bool { return f.Name == "want.json" })
			if *update {
				if i < 0 {
					ar.Files = append(ar.Files, txtar.File{Name: "want.json"})
					i = len(ar.Files) - 1
				}
				ar.Files[i].Data = []byte(got)
				if err := os.WriteFile(path, txtar.Format(ar), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			if i < 0 {
				t.Fatal("no want.json section: run with -update")
			}
			if diff := cmp.Diff(string(ar.Files[i].Data), got); diff != "" {
				t.Errorf("plan mismatch (-want +got), rerun with -update to accept:\n%s", diff)
			}
		})
	}
}

// TestDeterministic plans the same mesh twice, and once with its
// declarations in reverse order: the bytes must not change.
func TestDeterministic(t *testing.T) {
	src, err := os.ReadFile("../examples/wordcount.mesh")
	if err != nil {
		t.Fatal(err)
	}
	first := encode(t, Plan(compile(t, "a.mesh", src, nil), Options{}))
	second := encode(t, Plan(compile(t, "a.mesh", src, nil), Options{}))
	f, _ := lang.Parse("a.mesh", src)
	slices.Reverse(f.Decls)
	m, diags := compiler.Compile([]*lang.File{f}, nil)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	reversed := encode(t, Plan(m, Options{}))
	if first != second || first != reversed {
		t.Errorf("plans differ:\n%s", cmp.Diff(first, reversed))
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
	want := []Change{{What: "function split", Action: "changed", Fields: []Field{{Path: "replicas.count", Old: "2", New: "7"}}}}
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
