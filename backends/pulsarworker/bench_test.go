package pulsarworker

import (
	"testing"

	"github.com/meshc/meshc/compiler"
	"github.com/meshc/meshc/internal/meshgen"
	"github.com/meshc/meshc/lang"
	"github.com/meshc/meshc/planner"
	"github.com/meshc/meshc/planner/plan"
)

// BenchmarkFiles measures what meshc emit --backend pulsar spends on a
// planned mesh of 1,000 functions: a FunctionConfig file per component.
func BenchmarkFiles(b *testing.B) {
	p := benchPlan(b, 1000)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Files(p, Package{File: "meshrt"}); err != nil {
			b.Fatal(err)
		}
	}
}

func benchPlan(tb testing.TB, n int) *plan.Plan {
	tb.Helper()
	f, diags := lang.Parse("big.mesh", meshgen.Generate(meshgen.Mixed, n))
	if len(diags) > 0 {
		tb.Fatal(diags)
	}
	m, diags := compiler.Compile([]*lang.File{f}, nil)
	if len(diags) > 0 {
		tb.Fatal(diags)
	}
	return planner.Plan(m, planner.Options{})
}
