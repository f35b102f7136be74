package backends

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestWrite: files with their bytes and files made as they are written
// land the same; one that fails is not left half written.
func TestWrite(t *testing.T) {
	dir := t.TempDir()
	text := func(s string) func(io.Writer) error {
		return func(w io.Writer) error { _, err := io.WriteString(w, s); return err }
	}
	files := []File{
		{Path: "a.json", Data: []byte("a")},
		{Path: "sub/b.hcl", Write: text("b")},
		{Path: "c.hcl", Write: text("c")},
	}
	if err := Write(dir, files); err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		got, err := os.ReadFile(filepath.Join(dir, f.Path))
		if err != nil {
			t.Fatal(err)
		}
		want, err := f.Bytes()
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(string(want), string(got)); diff != "" {
			t.Errorf("%s (-want +got):\n%s", f.Path, diff)
		}
	}
	bad := errors.New("no more")
	err := Write(dir, []File{{Path: "d.hcl", Write: func(w io.Writer) error {
		if err := text("half")(w); err != nil {
			return err
		}
		return bad
	}}})
	if !errors.Is(err, bad) {
		t.Errorf("Write = %v, want %v", err, bad)
	}
	if _, err := os.Stat(filepath.Join(dir, "d.hcl")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a file that failed is left: %v", err)
	}
}
