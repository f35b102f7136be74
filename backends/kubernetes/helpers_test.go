package kubernetes

import (
	"bytes"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	yaml "go.yaml.in/yaml/v3"

	"github.com/meshc/meshc/backends"
	"github.com/meshc/meshc/compiler"
	"github.com/meshc/meshc/lang"
	"github.com/meshc/meshc/planner"
	"github.com/meshc/meshc/planner/plan"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// meshFiles are every example mesh and every mesh of testdata/meshes.
func meshFiles(t testing.TB) []string {
	t.Helper()
	var files []string
	for _, pattern := range []string{"../../examples/*.mesh", "testdata/meshes/*.mesh"} {
		m, err := filepath.Glob(pattern)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, m...)
	}
	if len(files) < 2 {
		t.Fatalf("found %d meshes: run the tests from backends/kubernetes", len(files))
	}
	return files
}

// loadPlan compiles a mesh file, with the operator's rules when flavour
// is functionmesh, as meshc emit does.
func loadPlan(t testing.TB, file, flavour string) *plan.Plan {
	t.Helper()
	src, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	name := filepath.Base(file)
	f, diags := lang.Parse(name, src)
	if diags.HasErrors() {
		t.Fatalf("%s: %v", file, diags)
	}
	m, diags := compiler.Compile([]*lang.File{f}, nil)
	if !diags.HasErrors() && flavour == FunctionMesh {
		diags = append(diags, compiler.OperatorRules(m)...)
	}
	if diags.HasErrors() {
		var b bytes.Buffer
		lang.Sources{name: src}.Render(&b, diags)
		t.Fatalf("%s:\n%s", file, b.String())
	}
	return planner.Plan(m, planner.Options{Source: name})
}

// testVersion is the meshc version the tests emit with: fixed, so that
// the goldens show the version label and do not change with meshc's.
const testVersion = "v0.0.0-test"

// emitWhole is Emit with every file's bytes made, in Data.
func emitWhole(p *plan.Plan, o Options) ([]backends.File, error) {
	files, err := Emit(p, o)
	for i := range files {
		if err == nil && files[i].Write != nil {
			files[i].Data, err = files[i].Bytes()
			files[i].Write = nil
		}
	}
	return files, err
}

// emitFile emits one mesh file in one flavour.
func emitFile(t testing.TB, file, flavour string) []backends.File {
	t.Helper()
	files, err := emitWhole(loadPlan(t, file, flavour), Options{Flavour: flavour, Version: testVersion})
	if err != nil {
		t.Fatalf("%s, %s: %v", file, flavour, err)
	}
	return files
}

func meshName(file string) string { return strings.TrimSuffix(filepath.Base(file), ".mesh") }

// checkGolden compares files with the folder dir, or rewrites the folder
// with -update.
func checkGolden(t *testing.T, dir string, files []backends.File) {
	t.Helper()
	if *update {
		if err := os.RemoveAll(dir); err != nil {
			t.Fatal(err)
		}
		if err := backends.Write(dir, files); err != nil {
			t.Fatal(err)
		}
		return
	}
	want := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		rel, _ := filepath.Rel(dir, p)
		want[filepath.ToSlash(rel)] = string(data)
		return err
	})
	if err != nil {
		t.Fatalf("%v (run go test -update to write the golden files)", err)
	}
	got := map[string]string{}
	for _, f := range files {
		got[f.Path] = string(f.Data)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("%s differs (-golden +emitted); rerun with -update if intended:\n%s", dir, diff)
	}
}

// document is one YAML document of a generated file.
type document struct {
	file string
	data []byte
}

// documents splits the YAML files, kustomization.yaml aside, into their
// documents.
func documents(t testing.TB, files []backends.File) []document {
	t.Helper()
	var docs []document
	for _, f := range files {
		if !IsResource(f.Path) {
			continue
		}
		for _, d := range splitDocuments(t, f.Data) {
			docs = append(docs, document{f.Path, d})
		}
	}
	return docs
}

// splitDocuments splits a YAML stream on its document markers, keeping
// each document's text as written.
func splitDocuments(t testing.TB, data []byte) [][]byte {
	t.Helper()
	var docs [][]byte
	for _, part := range bytes.Split(data, []byte("\n---\n")) {
		part = bytes.TrimPrefix(part, []byte("---\n"))
		if len(bytes.TrimSpace(part)) > 0 {
			docs = append(docs, append(part, '\n'))
		}
	}
	// Cross-check with a YAML reader: the split must agree with it.
	dec := yaml.NewDecoder(bytes.NewReader(data))
	n := 0
	for {
		var v yaml.Node
		err := dec.Decode(&v)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("reading YAML: %v", err)
		}
		n++
	}
	if n != len(docs) {
		t.Fatalf("split %d documents, a YAML reader sees %d", len(docs), n)
	}
	return docs
}
