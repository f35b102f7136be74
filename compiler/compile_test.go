package compiler

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/meshc/meshc/internal/golden"
	"github.com/meshc/meshc/lang"
)

// TestGolden compiles the in.mesh of each txtar file under testdata (and
// any other .mesh files in the archive, in order) and compares the rendered
// diagnostics with the want section. Parameters come from a params
// section of NAME=VALUE lines; a target section saying functionmesh adds
// the operator's rules.
func TestGolden(t *testing.T) {
	for _, path := range golden.Glob(t, "testdata/*/*.txtar") {
		t.Run(strings.TrimSuffix(filepath.ToSlash(path), ".txtar")[len("testdata/"):], func(t *testing.T) {
			ar := golden.Load(t, path)
			ar.Check(t, "want", compileArchive(t, ar))
		})
	}
}

func compileArchive(t *testing.T, ar *golden.Archive) string {
	t.Helper()
	srcs := lang.Sources{}
	var files []*lang.File
	params := map[string]string{}
	var all lang.Diagnostics
	operator := false
	dir := ""
	for _, f := range ar.Files() {
		switch {
		case strings.HasSuffix(f.Name, ".avsc") || strings.HasSuffix(f.Name, ".proto"):
			// Schema files are read from disk, next to the mesh file.
			if dir == "" {
				dir = t.TempDir()
			}
			if err := os.WriteFile(filepath.Join(dir, f.Name), f.Data, 0o644); err != nil {
				t.Fatal(err)
			}
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
	if dir != "" {
		// The mesh names its schema files relative to itself, and its
		// name is relative: the folder they are in is the working one
		// while it compiles (the tests of this package are not parallel).
		wd, err := os.Getwd()
		if err != nil {
			t.Fatal(err)
		}
		if err := os.Chdir(dir); err != nil {
			t.Fatal(err)
		}
		defer func() {
			if err := os.Chdir(wd); err != nil {
				t.Fatal(err)
			}
		}()
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
