package python

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestDirHoldsTheHelper(t *testing.T) {
	dir, err := Dir()
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(dir, FileName))
	if err != nil || !bytes.Equal(got, Helper) {
		t.Fatalf("helper in %s: %v", dir, err)
	}
	if err := writeOnce(dir); err != nil {
		t.Errorf("writing it again: %v", err)
	}
}

// TestPythonImportsIt runs python3 with the environment an instance gives
// its programs: the helper imports with no path set by the program.
func TestPythonImportsIt(t *testing.T) {
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Fatalf("python3 is needed to test the helper: %v", err)
	}
	env, err := PathEnv()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(py, "-c", "import meshc_function; print(meshc_function.__file__)")
	cmd.Env = append(os.Environ(), env)
	cmd.Dir = t.TempDir()
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), FileName) {
		t.Fatalf("import meshc_function: %v\n%s", err, out)
	}
}
