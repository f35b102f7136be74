package main

import (
	"context"
	"io"

	"github.com/spf13/cobra"

	"github.com/meshc/meshc/backends"
	"github.com/meshc/meshc/backends/counters"
	"github.com/meshc/meshc/backends/nomad"
	"github.com/meshc/meshc/planner/plan"
)

func init() {
	emitters["nomad"] = func(p *plan.Plan, o emitOptions) ([]backends.File, error) {
		return nomad.Files(p, nomadOptions(o))
	}
	deployers["nomad"] = deployNomad
	controllers["nomad"] = func(t target) (controller, error) {
		cl, err := nomad.Connect(t.Addr)
		if err != nil {
			return nil, err
		}
		return nomadController{cl, t.Mesh}, nil
	}
}

func nomadOptions(o emitOptions) nomad.Options {
	return nomad.Options{Driver: o.Driver, PulsarURL: o.PulsarURL, Binary: o.Binary, Artifact: o.Artifact, Image: o.Image}
}

func deployNomad(ctx context.Context, cmd *cobra.Command, p *plan.Plan, o deployOptions) error {
	job, err := nomad.Job(p, nomadOptions(o.emitOptions))
	if err != nil {
		return err
	}
	cl, err := nomad.Connect(o.Addr)
	if err != nil {
		return err
	}
	return cl.Deploy(ctx, cmd.OutOrStdout(), job, nomad.DeployOptions{DryRun: o.DryRun, Timeout: o.Timeout})
}

// nomadController manages a mesh deployed as a Nomad job; with no mesh
// named, the only one there is.
type nomadController struct {
	cl   *nomad.Cluster
	mesh string
}

func (c nomadController) name(ctx context.Context) (string, error) {
	if c.mesh != "" {
		return c.mesh, nil
	}
	return c.cl.OnlyMesh(ctx)
}

func (c nomadController) Status(ctx context.Context, w io.Writer, function string) error {
	mesh, err := c.name(ctx)
	if err != nil {
		return err
	}
	return c.cl.Status(ctx, w, mesh, function)
}

func (c nomadController) Stats(ctx context.Context, function string) (map[string]counters.Counters, []string, error) {
	mesh, err := c.name(ctx)
	if err != nil {
		return nil, nil, err
	}
	return c.cl.Stats(ctx, mesh, function)
}

func (c nomadController) Start(ctx context.Context, function string) error {
	return c.do(ctx, function, c.cl.Start)
}

func (c nomadController) Stop(ctx context.Context, function string) error {
	return c.do(ctx, function, c.cl.Stop)
}

func (c nomadController) Restart(ctx context.Context, function string) error {
	return c.do(ctx, function, c.cl.Restart)
}

func (c nomadController) Delete(ctx context.Context) error {
	mesh, err := c.name(ctx)
	if err != nil {
		return err
	}
	return c.cl.Delete(ctx, mesh)
}

func (c nomadController) do(ctx context.Context, function string, f func(context.Context, string, string) error) error {
	mesh, err := c.name(ctx)
	if err != nil {
		return err
	}
	return f(ctx, mesh, function)
}
