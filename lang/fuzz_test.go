package lang

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/rogpeppe/go-internal/txtar"
)

// FuzzParse checks that any input yields an AST or positioned diagnostics,
// never a panic, that every position lies inside the input, and that
// reading declarations' heads alone changes nothing (sameAsWhole).
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
		sameAsWhole(t, "f.mesh", src, file, diags)
	})
}

// sameAsWhole fails unless parsing src with participle given every
// declaration whole, bodies and all, gives the tree and diagnostics that
// the parser gave, which reads some declarations' heads alone.
func sameAsWhole(t *testing.T, name string, src []byte, file *File, diags Diagnostics) {
	t.Helper()
	whole := *meshGrammar
	whole.heads = nil
	wfile, wdiags := parse(name, src, &whole)
	got, err := json.Marshal(file)
	if err != nil {
		t.Fatal(err)
	}
	want, err := json.Marshal(wfile)
	if err != nil {
		t.Fatal(err)
	}
	srcs := Sources{name: src}
	if diff := cmp.Diff(srcs.String(wdiags), srcs.String(diags)); diff != "" {
		t.Errorf("diagnostics differ from a parse of whole declarations (-whole +heads):\n%s", diff)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("tree differs from a parse of whole declarations:\nheads: %s\nwhole: %s", got, want)
	}
}

func checkPos(t *testing.T, src []byte, pos, end Pos) {
	t.Helper()
	if pos.Line() < 1 || pos.Column() < 1 || pos.Offset() < 0 || pos.Offset() > len(src) || end.Offset() < pos.Offset() || end.Offset() > len(src) {
		t.Fatalf("position out of bounds: %v-%v in %d bytes", pos, end, len(src))
	}
}
