// Package wasmtest builds Go programs into WebAssembly modules for tests,
// with the standard toolchain (GOOS=wasip1 GOARCH=wasm): no other
// toolchain is needed.
package wasmtest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Build compiles the Go main package at pkg (a path, as `go build` takes
// it, relative to the test's folder) into a module in a temporary folder,
// and returns the module's path.
func Build(t testing.TB, pkg string) string {
	t.Helper()
	out, err := BuildTo(t.TempDir(), pkg)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// BuildTo compiles pkg into a module in dir, for a TestMain that builds a
// module once for all its tests.
func BuildTo(dir, pkg string) (string, error) {
	out := filepath.Join(dir, filepath.Base(strings.TrimSuffix(pkg, "/"))+".wasm")
	cmd := exec.Command("go", "build", "-o", out, pkg)
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building %s for GOOS=wasip1 GOARCH=wasm: %v\n%s", pkg, err, b)
	}
	return out, nil
}
