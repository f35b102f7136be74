package compiler

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/meshc/meshc/lang"
	"golang.org/x/tools/txtar"
)

var update = flag.Bool("update", false, "rewrite the want sections of the golden files")

// TestGolden compiles the in.mesh of each txtar file under testdata (and
// any other .mesh files in the archive, in order) and compares the rendered
// diagnostics with the want section. Parameters come from a params
// section of NAME=VALUE lines.
func TestGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/*/*.txtar")
	if err != nil {
		t.Fatal(err)
	}
	more, _ := filepath.Glob("testdata/*.txtar")
	files = append(files, more...)
	if len(files) == 0 {
		t.Fatal("no golden files")
	}
	for _, path := range files {
		t.Run(strings.TrimSuffix(filepath.ToSlash(path), ".txtar")[len("testdata/"):], func(t *testing.T) {
			ar, err := txtar.ParseFile(path)
			if err != nil {
				t.Fatal(err)
			}
			got := compileArchive(t, ar)
			wantIdx := -1
			for i, f := range ar.Files {
				if f.Name == "want" {
					wantIdx = i
				}
			}
			if *update {
				if wantIdx < 0 {
					ar.Files = append(ar.Files, txtar.File{Name: "want"})
					wantIdx = len(ar.Files) - 1
				}
				ar.Files[wantIdx].Data = []byte(got)
				if err := os.WriteFile(path, txtar.Format(ar), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			if wantIdx < 0 {
				t.Fatal("no want section; run go test -update")
			}
			if diff := cmp.Diff(string(ar.Files[wantIdx].Data), got); diff != "" {
				t.Errorf("diagnostics differ (-want +got):\n%s", diff)
			}
		})
	}
}

func compileArchive(t *testing.T, ar *txtar.Archive) string {
	t.Helper()
	srcs := lang.Sources{}
	var files []*lang.File
	params := map[string]string{}
	var all lang.Diagnostics
	operator := false
	for _, f := range ar.Files {
		switch {
		case f.Name == "target":
			operator = strings.TrimSpace(string(f.Data)) == "functionmesh"
		case f.Name == "params":
			for _, line := range strings.Split(strings.TrimSpace(string(f.Data)), "\n") {
				if k, v, ok := strings.Cut(line, "="); ok {
					params[k] = v
				}
			}
		case strings.HasSuffix(f.Name, ".mesh"):
			srcs[f.Name] = f.Data
			file, diags := lang.Parse(f.Name, f.Data)
			if len(diags) > 0 {
				t.Fatalf("%s does not parse:\n%s", f.Name, srcs.String(diags))
			}
			files = append(files, file)
		}
	}
	m, diags := Compile(files, params)
	all = append(all, diags...)
	if operator && !diags.HasErrors() {
		all = append(all, OperatorRules(m)...)
	}
	var b bytes.Buffer
	srcs.Render(&b, all)
	if len(all) == 0 {
		return "ok\n"
	}
	return b.String()
}
