package golden

import (
	"flag"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/rogpeppe/go-internal/txtar"
)

var update = flag.Bool("update", false, "rewrite golden files with what the tests produce")

// Updating reports whether the tests run with -update.
func Updating() bool { return *update }

// Glob returns the files matching pattern, failing the test when there are
// none: a golden test that finds nothing to compare must not pass.
func Glob(t testing.TB, pattern string) []string {
	t.Helper()
	paths, err := filepath.Glob(pattern)
	if err != nil || len(paths) == 0 {
		t.Fatalf("no golden files match %s (%v)", pattern, err)
	}
	return paths
}

// File compares got with the golden file at path, or writes it.
func File(t testing.TB, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v: run go test -update to create it", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s differs (-want +got), rerun with -update to accept:\n%s", path, diff)
	}
}

// Archive is a txtar golden file: input sections and wanted outputs.
type Archive struct {
	path string
	ar   *txtar.Archive
}

// Load reads the txtar archive at path.
func Load(t testing.TB, path string) *Archive {
	t.Helper()
	ar, err := txtar.ParseFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return &Archive{path: path, ar: ar}
}

// Comment is the text before the first section.
func (a *Archive) Comment() []byte { return a.ar.Comment }

// Has reports whether the archive has a section called name.
func (a *Archive) Has(name string) bool { return a.index(name) >= 0 }

// Section returns the named section, failing the test if there is none.
func (a *Archive) Section(t testing.TB, name string) []byte {
	t.Helper()
	i := a.index(name)
	if i < 0 {
		t.Fatalf("%s has no %s section", a.path, name)
	}
	return a.ar.Files[i].Data
}

// Files returns the sections, in order.
func (a *Archive) Files() []txtar.File { return a.ar.Files }

// Check compares got with the named section, or, with -update, sets the
// section (adding it if missing) and rewrites the archive.
func (a *Archive) Check(t testing.TB, name, got string) {
	t.Helper()
	i := a.index(name)
	if *update {
		if i < 0 {
			a.ar.Files = append(a.ar.Files, txtar.File{Name: name})
			i = len(a.ar.Files) - 1
		}
		a.ar.Files[i].Data = []byte(got)
		if err := os.WriteFile(a.path, txtar.Format(a.ar), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if i < 0 {
		t.Fatalf("%s has no %s section: run go test -update", a.path, name)
	}
	if diff := cmp.Diff(string(a.ar.Files[i].Data), got); diff != "" {
		t.Errorf("%s: %s differs (-want +got), rerun with -update to accept:\n%s", a.path, name, diff)
	}
}

func (a *Archive) index(name string) int {
	return slices.IndexFunc(a.ar.Files, func(f txtar.File) bool { return f.Name == name })
}
