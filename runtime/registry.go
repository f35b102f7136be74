package runtime

import (
	"fmt"
	"maps"
	"slices"
)

// Registry maps implementation names to functions and sources. An instance
// binary is runtime.Main(registry); the built-ins are always there.
type Registry struct {
	funcs   map[string]Func
	sources map[string]SourceFunc
	// borrowing are the functions that neither keep their input's value
	// past their return nor change its payload (built-ins only): they may
	// read a string input from the message's own bytes, not a copy.
	borrowing map[string]bool
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry {
	return &Registry{funcs: map[string]Func{}, sources: map[string]SourceFunc{}, borrowing: map[string]bool{}}
}

// Func registers a function (or sink) under name; registering a name twice
// is a programming error and panics at start, not in production later.
func (r *Registry) Func(name string, f Func) *Registry {
	if _, dup := r.funcs[name]; dup {
		panic(fmt.Sprintf("runtime: function %q registered twice", name))
	}
	r.funcs[name] = f
	return r
}

// borrowingFunc registers a function that neither keeps its input's
// value past its return nor changes its payload (see Registry.borrowing).
func (r *Registry) borrowingFunc(name string, f Func) *Registry {
	r.borrowing[name] = true
	return r.Func(name, f)
}

// Source registers a source under name.
func (r *Registry) Source(name string, f SourceFunc) *Registry {
	if _, dup := r.sources[name]; dup {
		panic(fmt.Sprintf("runtime: source %q registered twice", name))
	}
	r.sources[name] = f
	return r
}

// lookupFunc finds a function, with the registered names in the error.
func (r *Registry) lookupFunc(name string) (Func, error) {
	if f, ok := r.funcs[name]; ok {
		return f, nil
	}
	return nil, fmt.Errorf("no function %q in this instance binary (it has: %v): register it with Registry.Func, or use a binary that has it", name, slices.Sorted(maps.Keys(r.funcs)))
}

func (r *Registry) lookupSource(name string) (SourceFunc, error) {
	if f, ok := r.sources[name]; ok {
		return f, nil
	}
	return nil, fmt.Errorf("no source %q in this instance binary (it has: %v)", name, slices.Sorted(maps.Keys(r.sources)))
}
