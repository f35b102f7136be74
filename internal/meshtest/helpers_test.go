package meshtest

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/meshc/meshc/planner/plan"
	"github.com/meshc/meshc/runtime"
)

// TestMain lets the test binary be the instance binary, with the
// built-ins and Go functions of its own: Parse, which refuses text that is
// not a number as a bad input, and Hang, which never returns.
func TestMain(m *testing.M) {
	if os.Getenv("MESHC_INSTANCE_PLAN") != "" {
		runtime.Main(runtime.Builtins().Func("Parse", runtime.Typed(parse)).Func("Hang", runtime.Typed(hang)))
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func hang(runtime.Context, string) (string, error) { select {} }

func parse(_ runtime.Context, s string) (int64, error) {
	var n int64
	if _, err := fmt.Sscan(s, &n); err != nil {
		return 0, fmt.Errorf("%w: %q is not a number", runtime.ErrBadInput, s)
	}
	return n, nil
}

// testMesh has a function of each kind the cases need: a chain with an
// intermediate topic, state, a Go function with a dead letter, and a
// source whose topic the cases send to.
const testMesh = `mesh wc {}

param replicas int = 2

type Count {
  word string
  count int64
}

topic sentences string
topic words string
topic counts json<Count>
topic numbers string external
topic parsed int64
topic rejected string
topic records json<Count> external
topic kept json<Count>

source lines -> sentences {
  use = builtin.generator
  config {
    lines = ["never sent in a test"]
  }
}

function split(sentences) -> words {
  use = builtin.split_words
  replicas = param.replicas
}

function count(words) -> counts {
  use = builtin.word_count
  state = true
}

function keep(records) -> kept {
  use = builtin.filter
  config {
    where = "count > 1"
  }
}

function parse(numbers) -> parsed {
  use = go("Parse")
  max_retries = 1
  dead_letter = rejected
}
`

// write puts a mesh and its test file in a folder of their own and
// returns the test file's path.
func write(t *testing.T, mesh, tests string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "wc.mesh"), []byte(mesh), 0o644); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "wc.meshtest")
	if err := os.WriteFile(path, []byte(tests), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// selfOptions runs every instance as this test binary.
func selfOptions(t *testing.T) Options {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return Options{Command: func(*plan.Component) ([]string, error) { return []string{self}, nil }}
}

// short drops the folder from the positions in a text, for comparisons.
func short(s, path string) string {
	return strings.ReplaceAll(s, filepath.Dir(path)+string(filepath.Separator), "")
}

func writeFile(path, text string) error { return os.WriteFile(path, []byte(text), 0o644) }
