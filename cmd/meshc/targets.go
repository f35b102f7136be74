package main

import (
	"maps"
	"slices"
	"strings"

	"github.com/meshc/meshc/backends"
	"github.com/meshc/meshc/compiler"
	"github.com/meshc/meshc/lang"
	"github.com/meshc/meshc/planner"
)

// targetChecks are what `check --target` adds for each deployment
// target: what its backend, or the Function Mesh operator, refuses.
var targetChecks = map[string]func() []func(*compiler.Mesh) lang.Diagnostics{
	"kubernetes": func() []func(*compiler.Mesh) lang.Diagnostics {
		return []func(*compiler.Mesh) lang.Diagnostics{backendRules("kubernetes", emitOptions{Flavour: "plain"})}
	},
	"functionmesh": func() []func(*compiler.Mesh) lang.Diagnostics {
		return []func(*compiler.Mesh) lang.Diagnostics{compiler.OperatorRules, backendRules("kubernetes", emitOptions{Flavour: "functionmesh"})}
	},
	"nomad": func() []func(*compiler.Mesh) lang.Diagnostics {
		return []func(*compiler.Mesh) lang.Diagnostics{backendRules("nomad", emitOptions{Driver: "raw_exec"})}
	},
	pulsarBackend: func() []func(*compiler.Mesh) lang.Diagnostics {
		return []func(*compiler.Mesh) lang.Diagnostics{backendRules(pulsarBackend, emitOptions{})}
	},
}

func targetNames() string { return strings.Join(slices.Sorted(maps.Keys(targetChecks)), ", ") }

// backendRules is a check that plans the mesh and makes a backend's files
// in memory, so that what the backend refuses in the mesh is reported at
// its place in the source, before anything is written or deployed.
// Problems of the options rather than the mesh are left to the backend's
// own run, which reports them as they are.
func backendRules(backend string, o emitOptions) func(*compiler.Mesh) lang.Diagnostics {
	return func(m *compiler.Mesh) lang.Diagnostics {
		_, err := emitters[backend](planner.Plan(m, planner.Options{}), o)
		return meshDiagnostics(m.Places(), err)
	}
}

// meshDiagnostics places a backend's MeshErrors in the mesh's source.
func meshDiagnostics(places *compiler.Places, err error) lang.Diagnostics {
	var ds lang.Diagnostics
	errs, _ := backends.MeshErrors(err)
	for _, e := range errs {
		at, ok := places.Where(e.Kind, e.Component, e.Option)
		if !ok {
			at, _ = places.Where("mesh", "", "")
		}
		ds = append(ds, lang.Errorf(at.Start(), at.End(), "%v", e))
	}
	ds.Sort()
	return ds
}
