package examples

import (
	"bytes"
	"context"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/meshc/meshc/runtime/wasm/wasmtest"
)

// TestMeshTests runs the test file of every example with meshc test, as a
// CI job would: the Go functions from the shop's instance binary, the
// polyglot module built first. The examples run from a copy, where the
// module is built beside its mesh.
func TestMeshTests(t *testing.T) {
	bin := build(t)
	dir := t.TempDir()
	if err := copyExamples(".", dir); err != nil {
		t.Fatal(err)
	}
	if _, err := wasmtest.BuildTo(filepath.Join(dir, "polyglot"), "./polyglot/reverse"); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(bin, "meshc"), "test", "-v",
		"--runtime-binary", filepath.Join(bin, "shoprt"), "./...")
	cmd.Dir = dir
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("meshc test ./...: %v\n%s", err, out.Bytes())
	}
	for _, name := range []string{"wordcount", "etl", "routing", "enrich", "polyglot/polyglot", "shop/shop"} {
		if !strings.Contains(out.String(), "ok  \t"+name+".meshtest\t") {
			t.Errorf("no ok line for %s.meshtest:\n%s", name, out.Bytes())
		}
	}
}

// copyExamples copies the meshes, test files and what they read: every
// file but Go sources.
func copyExamples(from, to string) error {
	return filepath.WalkDir(from, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasSuffix(path, ".go") {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		dst := filepath.Join(to, path)
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		return os.WriteFile(dst, data, 0o644)
	})
}
