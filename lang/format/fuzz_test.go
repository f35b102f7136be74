package format

import (
	"bytes"
	"path/filepath"
	"testing"

	"github.com/rogpeppe/go-internal/txtar"

	"github.com/meshc/meshc/lang"
)

// FuzzFormat checks that any input that parses is formatted without a
// panic or an error, and that the result parses, is a fixed point, and
// holds the same tokens, comments and syntax tree.
func FuzzFormat(f *testing.F) {
	for _, pattern := range []string{"testdata/*.txtar", "../testdata/*/*.txtar"} {
		files, _ := filepath.Glob(pattern)
		for _, path := range files {
			ar, err := txtar.ParseFile(path)
			if err != nil {
				continue
			}
			for _, file := range ar.Files {
				if filepath.Ext(file.Name) == ".mesh" {
					f.Add(file.Data)
				}
			}
		}
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		if _, diags := lang.Parse("f.mesh", src); len(diags) > 0 {
			return
		}
		got, err := Format("f.mesh", src)
		if err != nil {
			t.Fatalf("Format of a valid source: %v", err)
		}
		if !bytes.HasSuffix(got, []byte("\n")) || bytes.HasSuffix(got, []byte("\n\n")) {
			t.Errorf("output does not end in exactly one newline: %q", got)
		}
		checkProperties(t, src, got)
	})
}
