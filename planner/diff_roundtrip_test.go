package planner

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/meshc/meshc/compiler"
	"github.com/meshc/meshc/internal/golden"
	"github.com/meshc/meshc/internal/meshgen"
	"github.com/meshc/meshc/lang"
	"github.com/meshc/meshc/planner/plan"
)

// TestDiffOfOwnPlanIsEmpty checks that a plan written to JSON and read
// back differs in nothing from the mesh it came from, in every diff format,
// for every example, every mesh of the compiler's and planner's testdata,
// and generated meshes of every shape.
func TestDiffOfOwnPlanIsEmpty(t *testing.T) {
	for name, files := range roundTripMeshes(t) {
		t.Run(name, func(t *testing.T) {
			fresh := planFiles(t, files)
			data, err := plan.Encode(fresh)
			if err != nil {
				t.Fatal(err)
			}
			if want := encodeWhole(t, fresh); !bytes.Equal(data, want) {
				t.Errorf("plan.Encode differs from encoding/json's indented encoding of the whole plan:\n%s",
					cmp.Diff(string(want), string(data)))
			}
			read, err := plan.Decode(data)
			if err != nil {
				t.Fatal(err)
			}
			for _, d := range []Diff{Compare(read, fresh), Compare(fresh, read)} {
				checkEmpty(t, d)
			}
		})
	}
}

// encodeWhole is what plan.Encode writes, as encoding/json writes it in
// one call.
func encodeWhole(t *testing.T, p *plan.Plan) []byte {
	t.Helper()
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(p); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// checkEmpty checks that a diff says "no changes" in each of its formats.
func checkEmpty(t *testing.T, d Diff) {
	t.Helper()
	var text, md, js bytes.Buffer
	d.WriteText(&text)
	d.WriteMarkdown(&md)
	d.WriteJSON(&js)
	if text.String() != "no changes\n" {
		t.Errorf("text diff:\n%s", text.String())
	}
	if md.String() != "No changes to the deployment.\n" {
		t.Errorf("markdown diff:\n%s", md.String())
	}
	var back Diff
	if err := json.Unmarshal(js.Bytes(), &back); err != nil || !back.Empty() {
		t.Errorf("JSON diff (%v):\n%s", err, js.String())
	}
}

// roundTripMeshes gathers meshes by name, each as its files.
func roundTripMeshes(t *testing.T) map[string]map[string][]byte {
	out := map[string]map[string][]byte{}
	for _, pattern := range []string{"../examples/*.mesh", "../examples/*/*.mesh"} {
		paths, _ := filepath.Glob(pattern)
		for _, p := range paths {
			src, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			out[p] = map[string][]byte{filepath.Base(p): src}
		}
	}
	for _, p := range golden.Glob(t, "../compiler/testdata/ok/*.txtar") {
		out[p] = meshFiles(golden.Load(t, p), "")
	}
	for _, p := range golden.Glob(t, "testdata/diffs/*.txtar") {
		for _, side := range []string{"old", "new"} {
			out[p+":"+side] = meshFiles(golden.Load(t, p), side+".mesh")
		}
	}
	for _, shape := range meshgen.Shapes {
		out["meshgen:"+string(shape)] = map[string][]byte{"gen.mesh": meshgen.Generate(shape, 20)}
	}
	return out
}

// meshFiles picks an archive's .mesh files, or the one named.
func meshFiles(ar *golden.Archive, only string) map[string][]byte {
	files := map[string][]byte{}
	for _, f := range ar.Files() {
		if strings.HasSuffix(f.Name, ".mesh") && (only == "" || f.Name == only) {
			files[f.Name] = f.Data
		}
	}
	return files
}

// planFiles compiles a mesh of one or more files and plans it.
func planFiles(t *testing.T, files map[string][]byte) *plan.Plan {
	t.Helper()
	var parsed []*lang.File
	for name, src := range files {
		f, diags := lang.Parse(name, src)
		if diags.HasErrors() {
			t.Fatal(lang.Sources(files).String(diags))
		}
		parsed = append(parsed, f)
	}
	m, diags := compiler.Compile(parsed, nil)
	if diags.HasErrors() {
		t.Fatal(lang.Sources(files).String(diags))
	}
	return Plan(m, Options{})
}
