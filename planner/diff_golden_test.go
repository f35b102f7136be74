package planner

import (
	"bytes"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/rogpeppe/go-internal/txtar"
)

// TestDiffGolden plans the old.mesh and new.mesh of each
// testdata/diffs/*.txtar (with NAME=VALUE lines from old.params and
// new.params) and compares the diff, as text and as markdown, with the
// want and want.md sections.
func TestDiffGolden(t *testing.T) {
	paths, _ := filepath.Glob("testdata/diffs/*.txtar")
	if len(paths) == 0 {
		t.Fatal("no golden diffs")
	}
	for _, path := range paths {
		t.Run(strings.TrimSuffix(filepath.Base(path), ".txtar"), func(t *testing.T) {
			ar, err := txtar.ParseFile(path)
			if err != nil {
				t.Fatal(err)
			}
			section := func(name string) []byte {
				i := slices.IndexFunc(ar.Files, func(f txtar.File) bool { return f.Name == name })
				if i < 0 {
					return nil
				}
				return ar.Files[i].Data
			}
			old := Plan(compile(t, "old.mesh", section("old.mesh"), paramLines(section("old.params"))), Options{})
			new := Plan(compile(t, "new.mesh", section("new.mesh"), paramLines(section("new.params"))), Options{})
			d := Compare(old, new)
			var text, md bytes.Buffer
			d.WriteText(&text)
			d.WriteMarkdown(&md)
			golden(t, path, ar, map[string]string{"want": text.String(), "want.md": md.String()})
		})
	}
}

func paramLines(data []byte) map[string]string {
	out := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		if k, v, ok := strings.Cut(line, "="); ok {
			out[k] = v
		}
	}
	return out
}

// golden compares got, by section name, with the archive's sections, or
// rewrites them with -update.
func golden(t *testing.T, path string, ar *txtar.Archive, got map[string]string) {
	t.Helper()
	for _, name := range slices.Sorted(maps.Keys(got)) {
		i := slices.IndexFunc(ar.Files, func(f txtar.File) bool { return f.Name == name })
		if *update {
			if i < 0 {
				ar.Files = append(ar.Files, txtar.File{Name: name})
				i = len(ar.Files) - 1
			}
			ar.Files[i].Data = []byte(got[name])
			continue
		}
		if i < 0 {
			t.Fatalf("no %s section: run with -update", name)
		}
		if diff := cmp.Diff(string(ar.Files[i].Data), got[name]); diff != "" {
			t.Errorf("%s differs (-want +got), rerun with -update to accept:\n%s", name, diff)
		}
	}
	if *update {
		if err := os.WriteFile(path, txtar.Format(ar), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
