package backends

import (
	"errors"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestMeshErrors finds every MeshError of a join, wrapped or not, and
// keeps the other errors apart.
func TestMeshErrors(t *testing.T) {
	a := Meshf("function", "a", "", "one")
	b := Meshf("sink", "b", "secrets.x", "two")
	plain := errors.New("not about the mesh")
	mesh, rest := MeshErrors(errors.Join(a, fmt.Errorf("wrapped: %w", b), plain))
	var got []string
	for _, e := range mesh {
		got = append(got, e.Error())
	}
	if diff := cmp.Diff([]string{"function a: one", "sink b: two"}, got); diff != "" {
		t.Errorf("mesh errors (-want +got):\n%s", diff)
	}
	if len(rest) != 1 || rest[0] != plain {
		t.Errorf("rest = %v, want the plain error", rest)
	}
	if m, r := MeshErrors(nil); m != nil || r != nil {
		t.Errorf("MeshErrors(nil) = %v, %v", m, r)
	}
}
