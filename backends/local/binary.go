package local

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/meshc/meshc/planner/plan"
)

// DefaultBinary is the standard instance binary's name, which plans name
// unless told otherwise.
const DefaultBinary = "meshrt"

// Resolve finds the program that runs instances of runtime rt:
//   - a path (it holds a slash) is used as it is;
//   - the standard meshrt is taken from the folder of the running
//     executable, where `make build` puts both; failing that, fallback
//     (such as meshc's own hidden `instance` command, which is meshrt
//     built in) is used, and only then meshrt from $PATH;
//   - any other name is looked up in $PATH.
//
// A meshrt found in $PATH comes last so that an old installed copy does
// not shadow the one built with this meshc.
func Resolve(rt plan.Runtime, fallback []string) ([]string, error) {
	name := rt.Binary
	if name == "" {
		name = DefaultBinary
	}
	if strings.ContainsRune(name, '/') || strings.ContainsRune(name, filepath.Separator) {
		if _, err := os.Stat(name); err != nil {
			return nil, fmt.Errorf("instance binary %s: %w", name, err)
		}
		abs, err := filepath.Abs(name)
		return append([]string{abs}, rt.Args...), err
	}
	if name == DefaultBinary {
		if self, err := os.Executable(); err == nil {
			beside := filepath.Join(filepath.Dir(self), name)
			if st, err := os.Stat(beside); err == nil && !st.IsDir() {
				return append([]string{beside}, rt.Args...), nil
			}
		}
		if len(fallback) > 0 {
			return append(fallback, rt.Args...), nil
		}
	}
	path, err := exec.LookPath(name)
	if err != nil {
		return nil, fmt.Errorf("no instance binary %q next to this program or in $PATH: build it (go build -o DIR/ ./cmd/meshrt) or name it by path", name)
	}
	return append([]string{path}, rt.Args...), nil
}
