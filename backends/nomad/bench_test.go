package nomad

import (
	"testing"

	"github.com/meshc/meshc/compiler"
	"github.com/meshc/meshc/internal/meshgen"
	"github.com/meshc/meshc/lang"
	"github.com/meshc/meshc/planner"
	"github.com/meshc/meshc/planner/plan"
)

// BenchmarkFiles measures what meshc emit --backend nomad spends on a
// planned mesh of 1,000 functions: the job, its JSON and its HCL.
func BenchmarkFiles(b *testing.B) {
	p := benchPlan(b, 1000)
	for _, bb := range []struct {
		name string
		run  func(*plan.Plan) error
	}{
		{"job", func(p *plan.Plan) error { _, err := Job(p, Options{}); return err }},
		{"json", func(p *plan.Plan) error { j, _ := Job(p, Options{}); _, err := JSON(j); return err }},
		{"hcl", func(p *plan.Plan) error { j, _ := Job(p, Options{}); _, err := HCL(j); return err }},
	} {
		b.Run(bb.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := bb.run(p); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func benchPlan(b *testing.B, n int) *plan.Plan {
	b.Helper()
	f, diags := lang.Parse("big.mesh", meshgen.Generate(meshgen.Mixed, n))
	if len(diags) > 0 {
		b.Fatal(diags)
	}
	m, diags := compiler.Compile([]*lang.File{f}, nil)
	if len(diags) > 0 {
		b.Fatal(diags)
	}
	return planner.Plan(m, planner.Options{})
}
