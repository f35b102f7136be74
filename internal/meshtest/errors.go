package meshtest

import (
	"errors"
	"strings"

	"github.com/meshc/meshc/lang"
)

// LoadError holds the problems found in a test file, or in the mesh it
// tests, before anything ran: each with its position, and the sources to
// show them in.
type LoadError struct {
	Sources lang.Sources
	Diags   lang.Diagnostics
}

func (e *LoadError) Error() string { return strings.TrimRight(e.Sources.String(e.Diags), "\n") }

// Unwrap gives the diagnostics, for errors.As.
func (e *LoadError) Unwrap() error { return e.Diags }

// ErrNoMesh is the error of a test file with no mesh beside it.
var ErrNoMesh = errors.New("no mesh file beside the test file")

// ErrTimeout is the failure of a case that did not finish in its time.
var ErrTimeout = errors.New("the case did not finish in time")
