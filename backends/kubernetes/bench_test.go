package kubernetes

import (
	"testing"

	"github.com/meshc/meshc/compiler"
	"github.com/meshc/meshc/internal/meshgen"
	"github.com/meshc/meshc/lang"
	"github.com/meshc/meshc/planner"
)

// BenchmarkEmit measures meshc emit --backend kubernetes of a planned
// mesh of 1,000 functions, in each flavour, beside the same with the YAML
// written through yaml.v3's node tree (the baseline).
func BenchmarkEmit(b *testing.B) {
	f, diags := lang.Parse("big.mesh", meshgen.Generate(meshgen.Mixed, 1000))
	if len(diags) > 0 {
		b.Fatal(diags)
	}
	m, diags := compiler.Compile([]*lang.File{f}, nil)
	if len(diags) > 0 {
		b.Fatal(diags)
	}
	p := planner.Plan(m, planner.Options{})
	for _, flavour := range []string{Plain, FunctionMesh} {
		for _, enc := range []struct {
			name string
			f    func(...any) ([]byte, error)
		}{{"", encodeYAML}, {"/yaml.v3", referenceYAML}} {
			b.Run(flavour+enc.name, func(b *testing.B) {
				yamlEncoder = enc.f
				defer func() { yamlEncoder = encodeYAML }()
				b.ReportAllocs()
				for b.Loop() {
					if _, err := Emit(p, Options{Flavour: flavour, Image: "meshc/meshrt:1"}); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
