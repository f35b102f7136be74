package main

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/meshc/meshc/lang"
)

// TestFolderJSON checks that a folder's trees, written a file at a time,
// are the bytes an encoder of the whole would write.
func TestFolderJSON(t *testing.T) {
	srcs := map[string]string{
		"app/a.mesh": "mesh app { tenant = \"<a&b>\" }\ntopic lines string external\n",
		"app/b.mesh": "// x < y\ntopic words string\nfunction split(lines) -> words { use = builtin.split_words }\n",
	}
	var files []*lang.File
	for _, name := range []string{"app/a.mesh", "app/b.mesh"} {
		f, diags := lang.Parse(name, []byte(srcs[name]))
		if len(diags) > 0 {
			t.Fatal(diags)
		}
		files = append(files, f)
	}
	var want bytes.Buffer
	enc := json.NewEncoder(&want)
	enc.SetIndent("", "  ")
	whole := struct {
		Folder string       `json:"folder"`
		Files  []*lang.File `json:"files"`
	}{"app", files}
	if err := enc.Encode(whole); err != nil {
		t.Fatal(err)
	}
	var got bytes.Buffer
	if err := writeFolderJSON(&got, folderTree{Folder: "app", Files: append([]*lang.File(nil), files...)}); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want.String(), got.String()); diff != "" {
		t.Errorf("folder JSON (-want +got):\n%s", diff)
	}
}
