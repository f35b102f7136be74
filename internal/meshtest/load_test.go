package meshtest

import (
	"errors"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestLoadErrors checks that what a case gets wrong about its mesh is
// found before anything runs, at its position in the test file.
func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name, src string
		want      []string
	}{
		{"unknown topic", `test a { send { sentence = ["x"] } }`,
			[]string{`1:17: mesh wc has no topic "sentence"`}},
		{"written by a function", `test a { send { words = ["x"] } }`,
			[]string{`1:17: topic words is written by function split: a test sends only to topics that sources or the outside write`}},
		{"value of another type", `test a { send { sentences = [1] } }`,
			[]string{`1:30: this value does not fit topic sentences (string): cannot encode int64 as string`}},
		{"record missing a field", `test a { send { numbers = ["1"] } expect { counts = [{ word = "a", cnt = 1 }] } }`,
			[]string{`1:54: topic counts has records without a field "cnt"`}},
		{"expect what a source writes", `test a { expect { sentences = ["x"] } }`,
			[]string{`1:19: nothing in a test writes topic sentences`}},
		{"expect what nothing writes", `test a { expect { numbers = ["x"] } }`,
			[]string{`1:19: nothing in a test writes topic numbers`}},
		{"unknown parameter", `test a { params { replica = 1 } }`,
			[]string{`1:19: mesh wc has no parameter "replica"`}},
		{"parameter of another type", `test a { params { replicas = "two" } }`,
			[]string{`1:30: parameter replicas: want an int, such as 3, found "two"`}},
		{"state of a stateless function", `test a { state { split = [{ key = "a", counter = 1 }] } }`,
			[]string{`1:18: mesh wc has no function "split" that keeps state`}},
		{"key order without keys", `test a { expect { counts { order = key messages = [{ word = "a" }] } } }`,
			[]string{`1:52: order = key needs the key of every message: write { key = "..." value = ... }`}},
		{"reason off a dead letter", `test a { expect { parsed { messages = [{ value = 1, reason = "x" }] } } }`,
			[]string{`1:53: reason is for messages expected on a dead-letter topic, and parsed is none`}},
		{"unknown attribute", `test a { sned { numbers = ["1"] } }`,
			[]string{`1:10: unknown test attribute "sned"`}},
		{"duplicate case", "test a {}\ntest a {}", []string{`2:6: a second test named a`}},
		{"bad order", `test a { expect { counts { order = random } } }`,
			[]string{`1:36: order: want exact, any or key`}},
		{"missing file", `test a { send { numbers { file = "nope.txt" } } }`,
			[]string{`1:34: reading the messages: open nope.txt: no such file or directory`}},
		{"record of another shape", `test a { send { records = [{ word = "a", count = "x" }] } }`,
			[]string{`1:28: this value does not fit topic records (json record): payload does not fit the schema: count: want an integer, got a string`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := write(t, testMesh, tt.src)
			_, err := Load(path)
			var le *LoadError
			if !errors.As(err, &le) {
				t.Fatalf("want a *LoadError, got %v", err)
			}
			var got []string
			for _, d := range le.Diags {
				got = append(got, short(fmt.Sprintf("%d:%d: %s", d.Pos.Line(), d.Pos.Column(), d.Message), path))
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("diagnostics (-want +got):\n%s", diff)
			}
		})
	}
}

// TestLoadNoMesh checks the error of a test file without its mesh: a
// missing file, a folder without a mesh, a folder of several meshes none
// of which is named after the test file.
func TestLoadNoMesh(t *testing.T) {
	path := write(t, testMesh, "test a {}")
	if _, err := Load(path[:len(path)-len(".meshtest")] + "2.meshtest"); err == nil {
		t.Fatal("want an error for a missing file")
	}
	alone := filepath.Join(t.TempDir(), "wc.meshtest")
	if err := writeFile(alone, "test a {}"); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(alone); !errors.Is(err, ErrNoMesh) {
		t.Fatalf("a folder without a mesh: want ErrNoMesh, got %v", err)
	}
	dir := filepath.Dir(path)
	if err := writeFile(filepath.Join(dir, "two.mesh"), "mesh two {}\ntopic x string external\n"); err != nil {
		t.Fatal(err)
	}
	other := filepath.Join(dir, "other.meshtest")
	if err := writeFile(other, "test a {}"); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(other); !errors.Is(err, ErrNoMesh) {
		t.Fatalf("a folder of two meshes: want ErrNoMesh, got %v", err)
	}
}

// TestLoadMeshOfFolder checks which mesh a test file tests: its folder's
// files when they declare one mesh between them, whatever the test file's
// name; NAME.mesh in a folder of several meshes.
func TestLoadMeshOfFolder(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"a.mesh":         "mesh app {}\ntopic lines string external\ntopic words string\n",
		"b.mesh":         "topic shout string\nfunction split(lines) -> words { use = builtin.split_words }\n",
		"c.mesh":         "function up(words) -> shout { use = builtin.upper }\n",
		"cases.meshtest": `test a { send { lines = ["x y"] } expect { shout = ["X", "Y"] } }`,
	}
	for name, text := range files {
		if err := writeFile(filepath.Join(dir, name), text); err != nil {
			t.Fatal(err)
		}
	}
	s, err := Load(filepath.Join(dir, "cases.meshtest"))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{filepath.Join(dir, "a.mesh"), filepath.Join(dir, "b.mesh"), filepath.Join(dir, "c.mesh")}
	if diff := cmp.Diff(want, s.MeshFiles); diff != "" || s.Mesh != dir {
		t.Errorf("mesh %s, files (-want +got):\n%s", s.Mesh, diff)
	}

	// A second mesh in the folder: each test file tests its namesake.
	if err := writeFile(filepath.Join(dir, "cases.mesh"), testMesh); err != nil {
		t.Fatal(err)
	}
	if err := writeFile(filepath.Join(dir, "cases.meshtest"), `test a { send { numbers = ["1"] } }`); err != nil {
		t.Fatal(err)
	}
	if s, err = Load(filepath.Join(dir, "cases.meshtest")); err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(dir, "cases.mesh"); s.Mesh != want || !cmp.Equal(s.MeshFiles, []string{want}) {
		t.Errorf("mesh %s, files %v; want %s alone", s.Mesh, s.MeshFiles, want)
	}
}

// TestLoadFolderSyntaxErrors checks that a folder mesh's syntax errors are
// said at their own files' positions.
func TestLoadFolderSyntaxErrors(t *testing.T) {
	dir := t.TempDir()
	for name, text := range map[string]string{
		"a.mesh":       "mesh app {}\ntopic lines string external\n",
		"b.mesh":       "topic shout string\nfunction up(lines) -> shout { use = }\n",
		"app.meshtest": "test a {}",
	} {
		if err := writeFile(filepath.Join(dir, name), text); err != nil {
			t.Fatal(err)
		}
	}
	_, err := Load(filepath.Join(dir, "app.meshtest"))
	var le *LoadError
	if !errors.As(err, &le) || len(le.Diags) == 0 {
		t.Fatalf("want a *LoadError, got %v", err)
	}
	if d := le.Diags[0]; d.Pos.Filename() != filepath.Join(dir, "b.mesh") || d.Pos.Line() != 2 {
		t.Errorf("diagnostic at %s:%d, want b.mesh:2", d.Pos.Filename(), d.Pos.Line())
	}
}

// TestLoadEnvelopes checks how objects are read: a message with its
// metadata, or a record.
func TestLoadEnvelopes(t *testing.T) {
	path := write(t, testMesh, `test a {
  send {
    numbers = [{ key = "k", value = "1" }]
  }
  expect {
    rejected = [{ reason = "not a number" }]
    counts = [{ word = "a" }, { key = "a", value { word = "a" } }]
  }
}
`)
	s, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	c := s.Cases[0]
	if m := c.Sends[0].Messages[0]; *m.Key != "k" || string(m.Value.([]byte)) != "1" {
		t.Errorf("sent %+v", m)
	}
	if m := c.Expects[0].Messages[0]; m.Value != nil || *m.Reason != "not a number" {
		t.Errorf("dead letter %+v", m)
	}
	counts := c.Expects[1].Messages
	if counts[0].Key != nil || counts[1].Key == nil || *counts[1].Key != "a" {
		t.Errorf("counts %+v", counts)
	}
}

// TestLoadFileWithKey checks that a file's lines are sent with the key
// and properties of their block.
func TestLoadFileWithKey(t *testing.T) {
	path := write(t, testMesh, `test a {
  send {
    numbers {
      file = "numbers.txt"
      key = "k"
      properties {
        origin = "file"
      }
    }
  }
}
`)
	if err := writeFile(filepath.Join(filepath.Dir(path), "numbers.txt"), "1\n\n2\n"); err != nil {
		t.Fatal(err)
	}
	s, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range s.Cases[0].Sends[0].Messages {
		got = append(got, fmt.Sprintf("%d:%d %s %s %s", m.Start().Line(), m.Start().Column(), *m.Key, m.Value, m.Properties["origin"]))
	}
	if diff := cmp.Diff([]string{"1:1 k 1 file", "3:1 k 2 file"}, got); diff != "" {
		t.Errorf("messages (-want +got):\n%s", diff)
	}
}
