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
// planned mesh of 1,000 functions: building the job, then writing it as
// JSON and as HCL, each on its own.
func BenchmarkFiles(b *testing.B) {
	p := benchPlan(b, 1000)
	job, err := Job(p, Options{})
	if err != nil {
		b.Fatal(err)
	}
	for _, bb := range []struct {
		name string
		run  func() error
	}{
		{"job", func() error { _, err := Job(p, Options{}); return err }},
		{"json", func() error { _, err := JSON(job); return err }},
		{"hcl", func() error { _, err := HCL(job); return err }},
	} {
		b.Run(bb.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := bb.run(); err != nil {
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
