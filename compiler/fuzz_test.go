package compiler

import (
	"path/filepath"
	"testing"

	"github.com/meshc/meshc/lang"
	"golang.org/x/tools/txtar"
)

// FuzzCompile checks that Compile never panics and that every diagnostic
// has a position inside the input, whatever the parser lets through.
func FuzzCompile(f *testing.F) {
	paths, _ := filepath.Glob("testdata/*/*.txtar")
	for _, p := range paths {
		ar, err := txtar.ParseFile(p)
		if err != nil {
			f.Fatal(err)
		}
		for _, file := range ar.Files {
			if filepath.Ext(file.Name) == ".mesh" {
				f.Add(file.Data)
			}
		}
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		file, diags := lang.Parse("in.mesh", src)
		if len(diags) > 0 {
			return
		}
		_, diags = Compile([]*lang.File{file}, map[string]string{"replicas": "3"})
		for _, d := range diags {
			if d.Pos.Offset() > len(src) || d.End.Offset() > len(src) || d.Message == "" {
				t.Fatalf("diagnostic out of the input or empty: %+v", d)
			}
		}
	})
}
