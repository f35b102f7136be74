package format

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/meshc/meshc/internal/golden"
	"github.com/meshc/meshc/lang"
)

// TestGoldenTests formats the in.meshtest section of each
// testdata/meshtest/*.txtar file and compares it with want.meshtest.
func TestGoldenTests(t *testing.T) {
	for _, path := range golden.Glob(t, "testdata/meshtest/*.txtar") {
		t.Run(strings.TrimSuffix(filepath.Base(path), ".txtar"), func(t *testing.T) {
			ar := golden.Load(t, path)
			in := ar.Section(t, "in.meshtest")
			got, err := Format("in.meshtest", in)
			if err != nil {
				t.Fatalf("Format: %v", err)
			}
			checkTestProperties(t, in, got)
			ar.Check(t, "want.meshtest", string(got))
		})
	}
}

// TestRoundTripTests formats every test file of the repository: each is
// formatted already, and formatting keeps its tokens, comments and tree.
func TestRoundTripTests(t *testing.T) {
	var n int
	for _, root := range []string{"../../examples", "../testdata/meshtest"} {
		err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil || !lang.IsTestFile(path) {
				return err
			}
			src, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			if _, diags := lang.ParseTests(path, src); diags.HasErrors() {
				return nil // broken on purpose
			}
			n++
			t.Run(path, func(t *testing.T) {
				got, err := Format(path, src)
				if err != nil {
					t.Fatalf("Format: %v", err)
				}
				checkTestProperties(t, src, got)
				if !bytes.Equal(src, got) {
					t.Errorf("not in canonical layout (-file +formatted):\n%s", cmp.Diff(string(src), string(got)))
				}
			})
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if n == 0 {
		t.Fatal("no test files found")
	}
}

// FuzzFormatTests checks that any test file that parses is formatted into
// a fixed point with the same tokens, comments and tree.
func FuzzFormatTests(f *testing.F) {
	paths, _ := filepath.Glob("../testdata/meshtest/*.meshtest")
	for _, path := range paths {
		if src, err := os.ReadFile(path); err == nil {
			f.Add(src)
		}
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		if _, diags := lang.ParseTests("f.meshtest", src); len(diags) > 0 {
			return
		}
		got, err := Format("f.meshtest", src)
		if err != nil {
			t.Fatalf("Format of a valid source: %v", err)
		}
		checkTestProperties(t, src, got)
	})
}

// checkTestProperties is checkProperties for test files.
func checkTestProperties(t *testing.T, src, got []byte) {
	t.Helper()
	again, err := Format("got.meshtest", got)
	if err != nil {
		t.Fatalf("formatted output does not parse: %v\n%s", err, got)
	}
	if !bytes.Equal(got, again) {
		t.Errorf("not idempotent (-first +second):\n%s", cmp.Diff(string(got), string(again)))
	}
	if a, b := tokens(string(src)), tokens(string(got)); !slices.Equal(a, b) {
		t.Errorf("tokens changed (-src +formatted):\n%s", cmp.Diff(a, b))
	}
	before, _ := lang.ParseTests("f.meshtest", src)
	after, _ := lang.ParseTests("f.meshtest", got)
	if a, b := comments(before), comments(after); !slices.Equal(a, b) {
		t.Errorf("comments changed (-src +formatted):\n%s", cmp.Diff(a, b))
	}
	if !reflect.DeepEqual(withoutPositions(before), withoutPositions(after)) {
		t.Errorf("syntax tree changed (-src +formatted):\n%s", cmp.Diff(before, after, astOptions))
	}
}
