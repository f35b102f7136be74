package lang

import (
	"fmt"
	"testing"

	"github.com/meshc/meshc/internal/meshgen"
)

func BenchmarkParse(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		src := meshgen.Generate(meshgen.Chain, n)
		b.Run(fmt.Sprintf("functions=%d", n), func(b *testing.B) {
			b.SetBytes(int64(len(src)))
			b.ReportAllocs()
			for b.Loop() {
				if _, diags := Parse("bench.mesh", src); len(diags) > 0 {
					b.Fatal(diags)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/function")
		})
	}
}

func BenchmarkScan(b *testing.B) {
	src := string(meshgen.Generate(meshgen.Chain, 10000))
	b.SetBytes(int64(len(src)))
	b.ReportAllocs()
	for b.Loop() {
		scan("bench.mesh", src)
	}
}
