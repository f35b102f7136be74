package plantest

import (
	"testing"

	"github.com/meshc/meshc/compiler"
	"github.com/meshc/meshc/internal/meshgen"
	"github.com/meshc/meshc/lang"
	"github.com/meshc/meshc/planner"
	"github.com/meshc/meshc/planner/plan"
)

// Generated is the plan of a generated mesh of n functions of shape; a
// diagnostic fails tb.
func Generated(tb testing.TB, shape meshgen.Shape, n int) *plan.Plan {
	tb.Helper()
	f, diags := lang.Parse("generated.mesh", meshgen.Generate(shape, n))
	if diags.HasErrors() {
		tb.Fatal(diags)
	}
	m, diags := compiler.Compile([]*lang.File{f}, nil)
	if diags.HasErrors() {
		tb.Fatal(diags)
	}
	return planner.Plan(m, planner.Options{})
}
