package backends

import (
	"errors"
	"fmt"
)

// MeshError is something a backend cannot deploy as the mesh says, with
// the component and the option at fault, so that the caller can point at
// them in the mesh's source. Option is the key the mesh writes
// ("min_replicas", "secrets.token"), or "" for the component itself.
type MeshError struct {
	Kind, Component, Option string
	Err                     error
}

func (e *MeshError) Error() string { return fmt.Sprintf("%s %s: %v", e.Kind, e.Component, e.Err) }

func (e *MeshError) Unwrap() error { return e.Err }

// Meshf makes a MeshError.
func Meshf(kind, component, option, format string, args ...any) error {
	return &MeshError{Kind: kind, Component: component, Option: option, Err: fmt.Errorf(format, args...)}
}

// MeshErrors lists the MeshErrors in err, which may join several; rest is
// what err holds besides them.
func MeshErrors(err error) (mesh []*MeshError, rest []error) {
	if err == nil {
		return nil, nil
	}
	// A join first: errors.As would stop at its first MeshError.
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range j.Unwrap() {
			m, r := MeshErrors(e)
			mesh, rest = append(mesh, m...), append(rest, r...)
		}
		return mesh, rest
	}
	var me *MeshError
	if errors.As(err, &me) {
		return []*MeshError{me}, nil
	}
	return nil, []error{err}
}
