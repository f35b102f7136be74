package planner

import (
	"testing"

	"github.com/meshc/meshc/compiler"
	"github.com/meshc/meshc/internal/meshgen"
	"github.com/meshc/meshc/lang"
	"github.com/meshc/meshc/planner/plan"
)

// BenchmarkPlan measures planning, and encoding the plan, of a checked mesh
// of 10,000 functions: the time meshc plan adds to meshc check.
func BenchmarkPlan(b *testing.B) {
	src := meshgen.Generate(meshgen.Mixed, 10000)
	f, diags := lang.Parse("big.mesh", src)
	if len(diags) > 0 {
		b.Fatal(diags)
	}
	m, diags := compiler.Compile([]*lang.File{f}, nil)
	if len(diags) > 0 {
		b.Fatal(diags)
	}
	b.Run("plan", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			Plan(m, Options{})
		}
	})
	b.Run("plan+encode", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := plan.Encode(Plan(m, Options{})); err != nil {
				b.Fatal(err)
			}
		}
	})
}
