package lang

import (
	"path/filepath"
	"testing"

	"github.com/rogpeppe/go-internal/txtar"
)

// FuzzParse checks that any input yields an AST or positioned diagnostics,
// never a panic, and that every position lies inside the input.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("testdata/*/*.txtar")
	for _, path := range files {
		if ar, err := txtar.ParseFile(path); err == nil && len(ar.Files) > 0 {
			f.Add(ar.Files[0].Data)
		}
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		file, diags := Parse("f.mesh", src)
		for _, d := range diags {
			checkPos(t, src, d.Pos, d.End)
		}
		if len(diags) == 0 && len(file.Decls) == 0 {
			t.Fatal("no declarations and no diagnostics")
		}
		for _, d := range file.Decls {
			checkPos(t, src, d.Start(), d.End())
		}
		_ = Sources{"f.mesh": src}.String(diags)
	})
}

func checkPos(t *testing.T, src []byte, pos, end Pos) {
	t.Helper()
	if pos.Line() < 1 || pos.Column() < 1 || pos.Offset() < 0 || pos.Offset() > len(src) || end.Offset() < pos.Offset() || end.Offset() > len(src) {
		t.Fatalf("position out of bounds: %v-%v in %d bytes", pos, end, len(src))
	}
}
