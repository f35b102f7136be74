package backends

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// File is one generated file: a path relative to the output folder and its
// bytes. Backends return files sorted by path so output is deterministic.
type File struct {
	Path string
	Data []byte
}

// Write writes files under dir, creating folders as needed. Paths must be
// relative and stay inside dir.
func Write(dir string, files []File) error {
	for _, f := range files {
		if !filepath.IsLocal(f.Path) {
			return fmt.Errorf("generated path %q leaves the output folder", f.Path)
		}
		p := filepath.Join(dir, filepath.FromSlash(f.Path))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, f.Data, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// Sort orders files by path.
func Sort(files []File) {
	slices.SortFunc(files, func(a, b File) int { return strings.Compare(a.Path, b.Path) })
}
