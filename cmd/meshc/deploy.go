package main

import (
	"context"
	"maps"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/meshc/meshc/backends/pulsarworker"
	"github.com/meshc/meshc/compiler"
	"github.com/meshc/meshc/lang"
	"github.com/meshc/meshc/planner/plan"
)

// deployOptions are the deploy flags a backend may read.
type deployOptions struct {
	emitOptions
	Addr    string        // the scheduler's address; "" means its default
	DryRun  bool          // show the scheduler's plan only
	Timeout time.Duration // how long to wait for health; 0 means the backend's
	Kube    kubeFlags     // kubernetes: which cluster, namespace and whether to force
	// pulsar: the Functions worker's admin URL, a URL it fetches the
	// package from instead of an upload, and the credentials to use.
	AdminURL, PackageURL string
	Secure               secureFlags
}

// deployers deploy a plan, by backend name. Each backend's file adds its
// entry in an init function.
var deployers = map[string]func(ctx context.Context, cmd *cobra.Command, p *plan.Plan, o deployOptions) error{}

func newDeployCmd() *cobra.Command {
	var (
		pf      paramFlags
		backend string
		o       deployOptions
	)
	cmd := &cobra.Command{
		Use:   "deploy --backend NAME [--addr URL] FILE|DIR [-p NAME=VALUE]...",
		Short: "Deploy a mesh to a scheduler and wait until it is healthy",
		Long: `deploy checks and plans FILE, shows what the scheduler would change, applies it, and
waits until every instance is healthy. When they are not, it says why. It ends with a
summary of each function, source and sink.

On Nomad it shows Nomad's own plan diff, registers the job and reports placements that
failed and the events of failed instances. On Kubernetes (the cluster and namespace of
--kubeconfig, --context and --namespace, found as kubectl finds them) it server-side
applies the manifests of emit as field manager meshc (a field another manager owns is a
conflict, taken over only with --force-conflicts), functions and sinks before sources,
deletes the mesh's objects the plan no longer holds, and waits until every workload has
rolled out, naming pods that cannot start (ImagePullBackOff, CrashLoopBackOff,
Unschedulable, with their events and last log lines); --dry-run shows a server-side
dry-run diff.

On a Pulsar Functions worker (--backend pulsar, at --admin-url, else the mesh's
admin_url) it creates the tenant and namespace if missing and registers each function,
source and sink as a Pulsar Function of the Go runtime, the instance binary (--binary,
default meshrt) uploaded as its package or fetched by the worker from --package-url,
with the mesh's pulsar credentials (each secret by its --pulsar-* flag). It prints what
changes, function by function, updates only those whose plan or package changed,
deletes those the mesh no longer holds with their subscriptions, and waits until every
instance runs; when a call fails, it says which components are in which state.

Only the instances of components whose plan hash changed restart; a change of
replicas adds or removes instances. Counts an autoscaler chose within min_replicas
and max_replicas are kept.`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: meshFiles,
		RunE: func(cmd *cobra.Command, args []string) error {
			deploy, ok := deployers[backend]
			if !ok {
				return usageErrorf("--backend %q: choose one of %s", backend, strings.Join(slices.Sorted(maps.Keys(deployers)), ", "))
			}
			var extra []func(*compiler.Mesh) lang.Diagnostics
			if _, ok := emitters[backend]; ok {
				extra = append(extra, backendRules(backend, emitOptions{Driver: o.Driver, PulsarURL: o.PulsarURL, Binary: o.Binary, Artifact: o.Artifact, Image: o.Image}))
			}
			p, err := buildPlan(cmd, args[0], &pf, extra...)
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			if err := deploy(ctx, cmd, p, o); err != nil {
				return &exitError{code: exitFail, err: err}
			}
			return nil
		},
	}
	pf.register(cmd)
	f := cmd.Flags()
	f.StringVar(&backend, "backend", "", "the scheduler to deploy to: kubernetes, nomad or pulsar (a Pulsar Functions worker)")
	f.StringVar(&o.Addr, "addr", "", "the scheduler's address (nomad: default $NOMAD_ADDR or http://127.0.0.1:4646)")
	f.BoolVar(&o.DryRun, "dry-run", false, "show the scheduler's plan and change nothing")
	f.DurationVar(&o.Timeout, "timeout", 0, "how long to wait for healthy instances (default: the backend's deadline)")
	f.StringVar(&o.PulsarURL, "pulsar-url", "", "the Pulsar service URL instances connect to (default: the backend's)")
	f.StringVar(&o.Driver, "driver", "raw_exec", "nomad: the task driver, raw_exec, exec or docker")
	f.StringVar(&o.Binary, "binary", "", "the instance binary: its path on Nomad's nodes or in the image, or the file uploaded to a Pulsar Functions worker (default: the plan's, meshrt)")
	f.StringVar(&o.Artifact, "artifact", "", "nomad: a URL the nodes download the instance binary from")
	f.StringVar(&o.Image, "image", "", "the instance container image, for Kubernetes and Nomad's docker driver (default: the plan's)")
	f.StringVar(&o.Flavour, "flavour", "plain", "kubernetes: plain (Deployments and friends) or functionmesh (the operator's custom resources)")
	f.StringVar(&o.AdminURL, "admin-url", "", "pulsar: the Functions worker's admin (web service) URL (default: the mesh's admin_url, else --addr, else "+pulsarworker.DefaultAdminURL+")")
	f.StringVar(&o.PackageURL, "package-url", "", "pulsar: a URL the worker fetches the instance binary from (http://, https://, file://, function://) instead of an upload of --binary")
	o.Secure.register(cmd)
	o.Kube.register(cmd)
	f.BoolVar(&o.CreateNamespace, "create-namespace", false, "kubernetes: create the namespace too")
	return cmd
}
