package kubernetes

import (
	"io"
	"testing"

	"k8s.io/apimachinery/pkg/runtime"

	"github.com/meshc/meshc/internal/meshgen"
	"github.com/meshc/meshc/internal/plantest"
)

// benchFunctions is the size of the benchmarks' mesh; make bench's stage
// table (internal/stagebench) measures 10,000.
const benchFunctions = 1000

// BenchmarkEmit measures meshc emit --backend kubernetes of a planned
// mesh, in each flavour: building the objects and writing them as YAML,
// the files made as they are written written to nowhere.
func BenchmarkEmit(b *testing.B) {
	p := plantest.Generated(b, meshgen.Mixed, benchFunctions)
	for _, flavour := range []string{Plain, FunctionMesh} {
		b.Run(flavour, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				files, err := Emit(p, Options{Flavour: flavour, Image: "meshc/meshrt:1"})
				for _, f := range files {
					if err == nil && f.Write != nil {
						err = f.Write(io.Discard)
					}
				}
				if err != nil {
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
		// Emit builds the next component's objects where these are:
		// keep copies.
		kept := make([]any, len(objs))
		for i, o := range objs {
			kept[i] = o
			if ro, ok := o.(runtime.Object); ok {
				kept[i] = ro.DeepCopyObject()
			}
		}
		files = append(files, kept)
		return nil, nil
	}
	_, err := emitWhole(p, Options{Image: "meshc/meshrt:1"})
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
