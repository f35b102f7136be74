package pulsarworker

import (
	"testing"

	"github.com/meshc/meshc/internal/meshgen"
	"github.com/meshc/meshc/internal/plantest"
)

// BenchmarkFiles measures what meshc emit --backend pulsar spends on a
// planned mesh of 1,000 functions: a FunctionConfig file per component.
func BenchmarkFiles(b *testing.B) {
	p := plantest.Generated(b, meshgen.Mixed, 1000)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Files(p, Package{File: "meshrt"}); err != nil {
			b.Fatal(err)
		}
	}
}
