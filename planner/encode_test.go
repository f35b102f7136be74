package planner

import (
	"bytes"
	"encoding/json"
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
