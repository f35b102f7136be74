package main

import (
	"context"
	"errors"
	"io"

	"github.com/spf13/cobra"

	"github.com/meshc/meshc/backends/counters"
	"github.com/meshc/meshc/backends/kubernetes"
	"github.com/meshc/meshc/planner/plan"
)

// kubeFlags say which Kubernetes cluster and namespace, as kubectl's do.
type kubeFlags struct {
	Kubeconfig, Context, Namespace string
	ForceConflicts                 bool
}

func (k *kubeFlags) register(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&k.Kubeconfig, "kubeconfig", "", "kubernetes: the kubeconfig (default $KUBECONFIG, else ~/.kube/config)")
	f.StringVar(&k.Context, "context", "", "kubernetes: the kubeconfig context (default its current one)")
	if f.Lookup("namespace") == nil {
		f.StringVar(&k.Namespace, "namespace", "", "kubernetes: the namespace (default the context's); pulsar: the mesh's namespace (default: default)")
	}
	if cmd.Name() == "deploy" {
		f.BoolVar(&k.ForceConflicts, "force-conflicts", false, "kubernetes: take over fields another field manager owns")
	}
}

func (k kubeFlags) connect() (*kubernetes.Cluster, error) {
	return kubernetes.Connect(kubernetes.ConnectOptions{Kubeconfig: k.Kubeconfig, Context: k.Context, Namespace: k.Namespace})
}

func init() {
	deployers["kubernetes"] = deployKubernetes
	controllers["kubernetes"] = func(t target) (controller, error) {
		if t.Mesh == "" {
			return nil, errors.New("name the mesh with --mesh: meshes on Kubernetes are found by name")
		}
		cl, err := t.Kube.connect()
		if err != nil {
			return nil, err
		}
		return kubeController{cl, t.Mesh}, nil
	}
}

// deployKubernetes applies the mesh's manifests and waits for them to
// roll out; with --dry-run it shows what would change.
func deployKubernetes(ctx context.Context, cmd *cobra.Command, p *plan.Plan, o deployOptions) error {
	cl, err := o.Kube.connect()
	if err != nil {
		return err
	}
	o.Namespace = cl.Namespace() // explicit, so that what is applied and what is pruned agree
	files, err := emitters["kubernetes"](p, o.emitOptions)
	if err != nil {
		return err
	}
	return cl.Deploy(ctx, cmd.OutOrStdout(), p.Mesh.Name, files,
		kubernetes.DeployOptions{DryRun: o.DryRun, Force: o.Kube.ForceConflicts, Timeout: o.Timeout})
}

// kubeController manages a mesh deployed on Kubernetes; --mesh names it.
type kubeController struct {
	cl   *kubernetes.Cluster
	mesh string
}

func (c kubeController) Status(ctx context.Context, w io.Writer, function string) error {
	return c.cl.Status(ctx, w, c.mesh, function)
}

// Stats is not served: pods' metrics ports are not reachable from outside
// the cluster; Prometheus inside it scrapes them.
func (c kubeController) Stats(ctx context.Context, function string) (map[string]counters.Counters, []string, error) {
	return nil, nil, errors.New("stats --backend kubernetes is not supported: pods serve /metrics inside the cluster, for its Prometheus")
}

func (c kubeController) Start(ctx context.Context, function string) error {
	return c.cl.Start(ctx, c.mesh, function)
}

func (c kubeController) Stop(ctx context.Context, function string) error {
	return c.cl.Stop(ctx, c.mesh, function)
}

func (c kubeController) Restart(ctx context.Context, function string) error {
	return c.cl.Restart(ctx, c.mesh, function)
}

func (c kubeController) Delete(ctx context.Context) error { return c.cl.Delete(ctx, c.mesh) }
