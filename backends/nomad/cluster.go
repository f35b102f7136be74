package nomad

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/hashicorp/nomad/api"
)

// Cluster is a Nomad cluster reached through its HTTP API.
type Cluster struct {
	api  *api.Client
	addr string
	// Poll is how often waits look again.
	Poll time.Duration
}

// Connect makes a client for the Nomad agent at addr; "" means $NOMAD_ADDR
// or Nomad's default, http://127.0.0.1:4646. NOMAD_TOKEN, NOMAD_NAMESPACE,
// NOMAD_REGION and the TLS variables apply as they do for the nomad
// command. Nothing is sent until the first call.
func Connect(addr string) (*Cluster, error) {
	cfg := api.DefaultConfig()
	if addr != "" {
		cfg.Address = addr
	}
	c, err := api.NewClient(cfg)
	if err != nil {
		return nil, fmt.Errorf("configuring the Nomad client for %s: %w", cfg.Address, err)
	}
	return &Cluster{api: c, addr: cfg.Address, Poll: time.Second}, nil
}

// Addr is the address of the agent the cluster is reached through.
func (cl *Cluster) Addr() string { return cl.addr }

// API is the underlying client, for what this package does not cover.
func (cl *Cluster) API() *api.Client { return cl.api }

// ErrNotDeployed reports a mesh that has no job on the cluster.
var ErrNotDeployed = errors.New("not deployed")

// errNoPort is an allocation without the port of its instance's metrics.
var errNoPort = errors.New("the allocation has no " + httpPort + " port")

func query(ctx context.Context) *api.QueryOptions { return (&api.QueryOptions{}).WithContext(ctx) }
func write(ctx context.Context) *api.WriteOptions { return (&api.WriteOptions{}).WithContext(ctx) }
func shortID(id string) string                    { return id[:min(8, len(id))] }
func isStatus(err error, code int) bool {
	var ue api.UnexpectedResponseError
	if errors.As(err, &ue) {
		return ue.StatusCode() == code
	}
	return err != nil && strings.Contains(err.Error(), fmt.Sprintf("(%d)", code))
}

// wrap says which agent failed a call, and what to check.
func (cl *Cluster) wrap(err error, doing string) error {
	if err == nil {
		return nil
	}
	if strings.Contains(err.Error(), "connection refused") || strings.Contains(err.Error(), "no such host") {
		return fmt.Errorf("%s: cannot reach Nomad at %s (start the agent, or point --addr or NOMAD_ADDR at one): %w", doing, cl.addr, err)
	}
	return fmt.Errorf("%s on Nomad at %s: %w", doing, cl.addr, err)
}

// job reads the job of a mesh, refusing one meshc did not deploy.
func (cl *Cluster) job(ctx context.Context, mesh string) (*api.Job, error) {
	job, _, err := cl.api.Jobs().Info(mesh, query(ctx))
	if isStatus(err, http.StatusNotFound) {
		return nil, fmt.Errorf("mesh %s: %w on Nomad at %s (deploy it with meshc deploy --backend nomad)", mesh, ErrNotDeployed, cl.addr)
	}
	if err != nil {
		return nil, cl.wrap(err, "reading job "+mesh)
	}
	if err := owned(job, mesh); err != nil {
		return nil, err
	}
	return job, nil
}

// owned refuses a job of the mesh's name that meshc did not make.
func owned(job *api.Job, mesh string) error {
	if job.Meta[MetaMesh] != mesh {
		return fmt.Errorf("job %s on Nomad was not deployed by meshc (its meta has no %s = %q): rename the mesh or remove that job", mesh, MetaMesh, mesh)
	}
	return nil
}

// groupNamed finds a component's task group.
func groupNamed(job *api.Job, name string) (*api.TaskGroup, error) {
	var names []string
	for _, g := range job.TaskGroups {
		if *g.Name == name {
			return g, nil
		}
		names = append(names, *g.Name)
	}
	return nil, fmt.Errorf("mesh %s has no function, source or sink %s on Nomad; it has %s", deref(job.ID), name, strings.Join(names, ", "))
}

// sleep waits for the next poll, or returns ctx's error.
func (cl *Cluster) sleep(ctx context.Context) error {
	t := time.NewTimer(cl.Poll)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Meshes lists the meshes deployed on the cluster, by name.
func (cl *Cluster) Meshes(ctx context.Context) ([]string, error) {
	jobs, _, err := cl.api.Jobs().ListOptions(&api.JobListOptions{Fields: &api.JobListFields{Meta: true}}, query(ctx))
	if err != nil {
		return nil, cl.wrap(err, "listing jobs")
	}
	var names []string
	for _, j := range jobs {
		if j.Meta[MetaMesh] == j.ID {
			names = append(names, j.ID)
		}
	}
	slices.Sort(names)
	return names, nil
}

// OnlyMesh names the one mesh deployed on the cluster, for commands that
// were not told which.
func (cl *Cluster) OnlyMesh(ctx context.Context) (string, error) {
	names, err := cl.Meshes(ctx)
	switch {
	case err != nil:
		return "", err
	case len(names) == 0:
		return "", fmt.Errorf("no mesh is deployed on Nomad at %s (deploy one with meshc deploy --backend nomad)", cl.addr)
	case len(names) > 1:
		return "", fmt.Errorf("%d meshes are deployed on Nomad at %s (%s): choose one with --mesh", len(names), cl.addr, strings.Join(names, ", "))
	}
	return names[0], nil
}
