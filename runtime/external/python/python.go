// Package python ships meshc_function.py, the helper a Python function
// imports to speak the framing of external processes, inside every meshc
// and meshrt binary: an instance writes it out once and puts its folder on
// PYTHONPATH of the programs it starts, so `import meshc_function` works
// on every backend without copying the file anywhere.
package python

import (
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"sync"
)

// Helper is the text of meshc_function.py.
//
//go:embed meshc_function.py
var Helper []byte

// FileName is the helper's file name, the module name plus .py.
const FileName = "meshc_function.py"

var written struct {
	once sync.Once
	dir  string
	err  error
}

// Dir returns a folder holding the helper, writing it on first use under
// the system's temporary folder. The folder is named by the helper's
// digest, so instances of different meshc versions on one machine do not
// share it, and those of one version write the same bytes.
func Dir() (string, error) {
	written.once.Do(func() {
		sum := sha256.Sum256(Helper)
		written.dir = filepath.Join(os.TempDir(), "meshc-python-"+hex.EncodeToString(sum[:6]))
		written.err = writeOnce(written.dir)
	})
	return written.dir, written.err
}

// writeOnce writes the helper into dir unless it is there, through a
// temporary file renamed into place, so a reader never sees half of it.
func writeOnce(dir string) error {
	path := filepath.Join(dir, FileName)
	if b, err := os.ReadFile(path); err == nil && string(b) == string(Helper) {
		return nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("writing the Python helper: %w", err)
	}
	tmp, err := os.CreateTemp(dir, FileName+".*")
	if err != nil {
		return fmt.Errorf("writing the Python helper: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(Helper); err != nil {
		tmp.Close()
		return fmt.Errorf("writing the Python helper: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("writing the Python helper: %w", err)
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return fmt.Errorf("writing the Python helper: %w", err)
	}
	return os.Rename(tmp.Name(), path)
}

// PathEnv is the PYTHONPATH entry that puts the helper's folder first,
// before what the environment already has.
func PathEnv() (string, error) {
	dir, err := Dir()
	if err != nil {
		return "", err
	}
	if old := os.Getenv("PYTHONPATH"); old != "" {
		dir += string(os.PathListSeparator) + old
	}
	return "PYTHONPATH=" + dir, nil
}
