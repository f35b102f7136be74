//lint:file-ignore U1000 the lifecycle commands are what use these.

package main

import (
	"context"
	"github.com/meshc/meshc/backends/counters"
	"io"
)

// A controller manages a deployed mesh for the lifecycle commands
// (status, start, stop, restart, delete). Each backend that can deploy
// provides one; function "" means the whole mesh.
type controller interface {
	Status(ctx context.Context, w io.Writer, function string) error
	// Stats reads the counters of the mesh's functions, or of one, and
	// lists their names in the order to show them.
	Stats(ctx context.Context, function string) (map[string]counters.Counters, []string, error)
	Start(ctx context.Context, function string) error
	Stop(ctx context.Context, function string) error
	Restart(ctx context.Context, function string) error
	Delete(ctx context.Context) error
}

// target is where a lifecycle command finds the mesh it manages.
type target struct {
	Backend string // "local" (a mesh started by meshc run), "nomad", "kubernetes" or "pulsar"
	Addr    string // the backend's address; "" means its default
	Mesh    string // the mesh's name
	Kube    kubeFlags
	Pulsar  pulsarTarget // pulsar: the worker, tenant and credentials
}

// controllers opens a controller per backend name. Each backend's file
// adds its entry in an init function.
var controllers = map[string]func(t target) (controller, error){}
