package examples

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/rogpeppe/go-internal/txtar"
)

var update = flag.Bool("update", false, "rewrite the expected outputs in testdata/")

// TestExamples runs every example mesh end to end with meshc run, on the
// embedded broker, and compares what its sinks wrote with
// testdata/NAME.txtar: standard output, then each file a sink wrote. Lines
// are sorted, since instances run side by side.
func TestExamples(t *testing.T) {
	bin := build(t)
	tests := []struct {
		mesh  string
		args  []string
		files []string
	}{
		{mesh: "wordcount.mesh"},
		{mesh: "etl.mesh", args: []string{"--runtime-binary", filepath.Join(bin, "shoprt")}},
		{mesh: "routing.mesh", args: []string{"--runtime-binary", filepath.Join(bin, "shoprt")},
			files: []string{"routed-billing.jsonl", "routed-tech.jsonl", "routed-triage.jsonl"}},
		{mesh: "enrich.mesh", args: []string{"--runtime-binary", filepath.Join(bin, "shoprt")}},
	}
	for _, tt := range tests {
		t.Run(strings.TrimSuffix(tt.mesh, ".mesh"), func(t *testing.T) {
			// The mesh runs from a copy in a folder of its own, where its
			// relative paths (file sinks) then lead.
			dir := t.TempDir()
			src, err := os.ReadFile(tt.mesh)
			if err != nil {
				t.Fatal(err)
			}
			abs := filepath.Join(dir, tt.mesh)
			if err := os.WriteFile(abs, src, 0o644); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			args := append([]string{"run", "--progress", "off", abs}, tt.args...)
			cmd := exec.CommandContext(ctx, filepath.Join(bin, "meshc"), args...)
			cmd.Dir = dir
			cmd.Env = append(os.Environ(), "MESHC_RUN_DIR="+filepath.Join(dir, "run"))
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			stdout, err := cmd.Output()
			if err != nil {
				t.Fatalf("meshc run %s: %v\n%s", tt.mesh, err, stderr.Bytes())
			}
			got := &txtar.Archive{Files: []txtar.File{{Name: "stdout", Data: sorted(stdout)}}}
			for _, f := range tt.files {
				data, err := os.ReadFile(filepath.Join(dir, f))
				if err != nil {
					t.Fatalf("sink file: %v", err)
				}
				got.Files = append(got.Files, txtar.File{Name: f, Data: sorted(data)})
			}
			golden := filepath.Join("testdata", strings.TrimSuffix(tt.mesh, ".mesh")+".txtar")
			if *update {
				if err := os.WriteFile(golden, txtar.Format(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to write it)", err)
			}
			if diff := cmp.Diff(string(want), string(txtar.Format(got))); diff != "" {
				t.Errorf("%s (-want +got):\n%s\nmeshc's standard error:\n%s", tt.mesh, diff, stderr.Bytes())
			}
		})
	}
}

// built holds meshc, meshrt and the shop's instance binary, built once
// for all the tests of the package and removed by TestMain.
var built struct {
	once sync.Once
	dir  string
	err  error
}

// build compiles meshc, meshrt and the shop's instance binary once.
func build(t *testing.T) string {
	t.Helper()
	built.once.Do(func() {
		if built.dir, built.err = os.MkdirTemp("", "meshc-examples-"); built.err != nil {
			return
		}
		cmd := exec.Command("go", "build", "-o", built.dir+string(filepath.Separator),
			"./cmd/meshc", "./cmd/meshrt", "./examples/shop/cmd/shoprt")
		cmd.Dir = ".."
		if out, err := cmd.CombinedOutput(); err != nil {
			built.err = fmt.Errorf("%w\n%s", err, out)
		}
	})
	if built.err != nil {
		t.Fatalf("building meshc and the instance binaries: %v", built.err)
	}
	return built.dir
}

func TestMain(m *testing.M) {
	code := m.Run()
	if built.dir != "" {
		os.RemoveAll(built.dir)
	}
	os.Exit(code)
}

func sorted(data []byte) []byte {
	lines := strings.SplitAfter(string(data), "\n")
	slices.Sort(lines)
	return []byte(strings.Join(lines, ""))
}
