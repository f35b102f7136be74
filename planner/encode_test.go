package planner

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/meshc/meshc/internal/meshgen"
	"github.com/meshc/meshc/planner/plan"
)

// TestEncodeGeneratedMeshes checks plan.Encode against encoding/json on the
// plans of generated meshes of every shape.
func TestEncodeGeneratedMeshes(t *testing.T) {
	for _, shape := range meshgen.Shapes {
		t.Run(string(shape), func(t *testing.T) {
			p := Plan(compile(t, "gen.mesh", meshgen.Generate(shape, 300), nil), Options{Source: "gen.mesh", Image: "meshc/meshrt:1"})
			var want bytes.Buffer
			enc := json.NewEncoder(&want)
			enc.SetEscapeHTML(false)
			enc.SetIndent("", "  ")
			if err := enc.Encode(p); err != nil {
				t.Fatal(err)
			}
			got, err := plan.Encode(p)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want.String(), string(got)); diff != "" {
				t.Errorf("plan.Encode differs from encoding/json (-want +got):\n%s", diff)
			}
		})
	}
}

// TestHashIsOverEncodingJSON checks that components hash as they always
// have: SHA-256 of encoding/json's text of the component, its hash and
// replicas cleared and its schema definitions digested.
func TestHashIsOverEncodingJSON(t *testing.T) {
	p := Plan(compile(t, "gen.mesh", meshgen.Generate(meshgen.FanOut, 50), nil), Options{Image: "i"})
	for _, c := range p.Components {
		want := c
		want.Hash, want.Replicas = "", plan.Replicas{}
		h := hasher{digests: map[string]string{}}
		want.Inputs = slices.Clone(want.Inputs)
		for i := range want.Inputs {
			want.Inputs[i].Schema = h.digested(want.Inputs[i].Schema)
		}
		if want.Output != nil {
			out := *want.Output
			out.Schema = h.digested(out.Schema)
			want.Output = &out
		}
		sum := sha256.New()
		if err := json.NewEncoder(sum).Encode(want); err != nil {
			t.Fatal(err)
		}
		if got := hex.EncodeToString(sum.Sum(nil)[:8]); c.Hash != got {
			t.Errorf("%s: hash %s, want %s", c.Name, c.Hash, got)
		}
	}
}
