package compiler

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/meshc/meshc/lang"
)

// TestExamplesCheckClean: every example mesh compiles with no diagnostic
// at all, warnings included, as users copy them.
func TestExamplesCheckClean(t *testing.T) {
	n := 0
	err := filepath.WalkDir("../examples", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".mesh") {
			return err
		}
		n++
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		f, diags := lang.Parse(path, src)
		if len(diags) == 0 {
			_, diags = Compile([]*lang.File{f}, nil)
		}
		if len(diags) > 0 {
			t.Errorf("%s", lang.Sources{path: src}.String(diags))
		}
		return nil
	})
	if err != nil || n == 0 {
		t.Fatalf("walking examples: %v (%d found)", err, n)
	}
}
