package meshgen_test

import (
	"testing"

	"github.com/meshc/meshc/compiler"
	"github.com/meshc/meshc/internal/meshgen"
	"github.com/meshc/meshc/lang"
)

// TestGeneratedMeshesCheckClean keeps the benchmarks honest: they measure
// meshes with no diagnostics, as a real one would be.
func TestGeneratedMeshesCheckClean(t *testing.T) {
	for _, shape := range meshgen.Shapes {
		t.Run(string(shape), func(t *testing.T) {
			src := meshgen.Generate(shape, 50)
			f, diags := lang.Parse("gen.mesh", src)
			if len(diags) == 0 {
				var m *compiler.Mesh
				m, diags = compiler.Compile([]*lang.File{f}, nil)
				if want := wantComponents(shape); len(diags) == 0 && len(m.Components) != want {
					t.Errorf("%d components, want %d", len(m.Components), want)
				}
			}
			if len(diags) > 0 {
				t.Fatal(lang.Sources{"gen.mesh": src}.String(diags))
			}
		})
	}
}

// wantComponents counts 50 functions, a source unless every function reads
// an external topic, and a sink unless every function writes one.
func wantComponents(shape meshgen.Shape) int {
	if shape == meshgen.FanIn || shape == meshgen.FanOut {
		return 51
	}
	return 52
}
