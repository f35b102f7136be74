package storage

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestCursorRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		name string
		c    Cursor
	}{
		{"fresh", Cursor{Type: "Exclusive"}},
		{"mark delete only", Cursor{Type: "Shared", MarkDelete: 1 << 40}},
		{"individual acks", Cursor{Type: "Key_Shared", MarkDelete: 7, Acked: []uint64{9, 10, 12}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "sub", "cursor")
			// Write twice: the second version replaces the first whole.
			if err := WriteJSON(path, Cursor{Type: "Failover", MarkDelete: 99, Acked: []uint64{101}}); err != nil {
				t.Fatal(err)
			}
			if err := WriteJSON(path, tc.c); err != nil {
				t.Fatal(err)
			}
			var got Cursor
			found, err := ReadJSON(path, &got)
			if err != nil || !found {
				t.Fatalf("found %v, err %v", found, err)
			}
			if diff := cmp.Diff(tc.c, got); diff != "" {
				t.Fatalf("cursor (-want +got):\n%s", diff)
			}
			if _, err := os.Stat(path + ".tmp"); !os.IsNotExist(err) {
				t.Fatalf("temporary file left behind: %v", err)
			}
		})
	}
}

func TestReadJSON(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name      string
		content   *string // nil: no file
		wantFound bool
		wantErr   string
		want      map[string]int
	}{
		{"missing", nil, false, "", map[string]int{"kept": 1}},
		{"valid", ptr(`{"a":3}`), true, "", map[string]int{"kept": 1, "a": 3}},
		{"corrupt", ptr(`{"a":`), false, "fix or remove the file", map[string]int{"kept": 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, tc.name+".json")
			if tc.content != nil {
				if err := os.WriteFile(path, []byte(*tc.content), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			got := map[string]int{"kept": 1}
			found, err := ReadJSON(path, &got)
			if found != tc.wantFound || (err == nil) != (tc.wantErr == "") || (err != nil && !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("found %v, err %v; want %v, %q", found, err, tc.wantFound, tc.wantErr)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Fatalf("value (-want +got):\n%s", diff)
			}
		})
	}
}

func ptr(s string) *string { return &s }
