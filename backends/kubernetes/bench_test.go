package kubernetes

import (
	"testing"

	"github.com/meshc/meshc/internal/meshgen"
	"github.com/meshc/meshc/internal/plantest"
)

// benchFunctions is the size of the benchmarks' mesh; make bench's stage
// table (internal/stagebench) measures 10,000.
const benchFunctions = 1000

// BenchmarkEmit measures meshc emit --backend kubernetes of a planned
// mesh, in each flavour: building the objects and writing them as YAML.
func BenchmarkEmit(b *testing.B) {
	p := plantest.Generated(b, meshgen.Mixed, benchFunctions)
	for _, flavour := range []string{Plain, FunctionMesh} {
		b.Run(flavour, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Emit(p, Options{Flavour: flavour, Image: "meshc/meshrt:1"}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkYAML measures writing the objects of a mesh's plain flavour
// as YAML alone, a component's file at a time, the objects built once.
func BenchmarkYAML(b *testing.B) {
	p := plantest.Generated(b, meshgen.Mixed, benchFunctions)
	var files [][]any
	yamlEncoder = func(_ []byte, _ *sharedTexts, objs ...any) ([]byte, error) {
		files = append(files, objs)
		return nil, nil
	}
	_, err := Emit(p, Options{Image: "meshc/meshrt:1"})
	yamlEncoder = appendYAML
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		for _, objs := range files {
			if _, err := encodeYAML(objs...); err != nil {
				b.Fatal(err)
			}
		}
	}
}
