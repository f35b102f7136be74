package compiler

import (
	"fmt"
	"testing"

	"github.com/meshc/meshc/internal/meshgen"
	"github.com/meshc/meshc/lang"
)

// parseGenerated parses a generated mesh kept as files of 10,000 functions.
func parseGenerated(b *testing.B, shape meshgen.Shape, n int) []*lang.File {
	var files []*lang.File
	for i, src := range meshgen.Files(shape, n, 10000) {
		f, diags := lang.Parse(fmt.Sprintf("big%d.mesh", i), []byte(src))
		if len(diags) > 0 {
			b.Fatal(diags)
		}
		files = append(files, f)
	}
	return files
}

// BenchmarkCompile measures checking (after parsing) generated meshes of
// every shape; ns/function shows whether time grows linearly.
func BenchmarkCompile(b *testing.B) {
	for _, shape := range meshgen.Shapes {
		for _, n := range []int{1000, 10000, 100000} {
			b.Run(fmt.Sprintf("%s/functions=%d", shape, n), func(b *testing.B) {
				files := parseGenerated(b, shape, n) // only for the sizes run
				b.ReportAllocs()
				for b.Loop() {
					if _, diags := Compile(files, nil); len(diags) > 0 {
						b.Fatal(diags)
					}
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/function")
			})
		}
	}
}

// BenchmarkGraph measures building the graph.Graph view of a compiled mesh,
// which Compile leaves to the first call of Mesh.Graph.
func BenchmarkGraph(b *testing.B) {
	files := parseGenerated(b, meshgen.Mixed, 10000)
	b.ReportAllocs()
	for b.Loop() {
		m, _ := Compile(files, nil)
		if n, _ := m.Graph().Order(); n < 2*10000 {
			b.Fatalf("%d vertices", n)
		}
	}
}
