package kubernetes

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"

	"github.com/meshc/meshc/backends"
)

// DeployOptions say how Deploy applies a mesh.
type DeployOptions struct {
	// DryRun shows what applying would change, by a server-side dry run,
	// and changes nothing.
	DryRun bool
	// Force takes over fields another manager owns; without it such a
	// conflict fails the deploy and names them.
	Force bool
	// Timeout bounds the wait for the mesh to roll out; default
	// DefaultRolloutTimeout.
	Timeout time.Duration
}

// DefaultRolloutTimeout is how long Deploy waits for a mesh to roll out.
const DefaultRolloutTimeout = 5 * time.Minute

// Deploy applies the manifests of a mesh with server-side apply, as field
// manager meshc, prunes the objects of the mesh that the manifests no
// longer hold, and waits until every workload has rolled out, or says why
// not. Functions and sinks go first and sources once those are ready, so
// that nothing a source writes misses a subscription.
func (cl *Cluster) Deploy(ctx context.Context, w io.Writer, mesh string, files []backends.File, o DeployOptions) error {
	if err := refuseOversized(files); err != nil {
		return err
	}
	objs, err := objects(files)
	if err != nil {
		return err
	}
	if o.DryRun {
		return cl.dryRun(ctx, w, mesh, objs)
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultRolloutTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	var sources []*unstructured.Unstructured
	for _, u := range objs {
		if isSource(u) {
			sources = append(sources, u)
		}
	}
	first := without(objs, sources)
	if err := cl.applyAll(ctx, w, first, o.Force); err != nil {
		return err
	}
	if err := cl.awaitRollout(ctx, w, mesh, first); err != nil {
		return err
	}
	if err := cl.applyAll(ctx, w, sources, o.Force); err != nil {
		return err
	}
	if err := cl.prune(ctx, w, mesh, objs); err != nil {
		return err
	}
	if err := cl.awaitRollout(ctx, w, mesh, objs); err != nil {
		return err
	}
	return cl.summary(ctx, w, mesh)
}

func without(all, some []*unstructured.Unstructured) []*unstructured.Unstructured {
	skip := map[*unstructured.Unstructured]bool{}
	for _, u := range some {
		skip[u] = true
	}
	var out []*unstructured.Unstructured
	for _, u := range all {
		if !skip[u] {
			out = append(out, u)
		}
	}
	return out
}

// applyAll applies objects in order, and reports every conflict at once.
func (cl *Cluster) applyAll(ctx context.Context, w io.Writer, objs []*unstructured.Unstructured, force bool) error {
	var errs []error
	for _, u := range objs {
		if _, err := cl.apply(ctx, u, force, false); err != nil {
			errs = append(errs, err)
			continue
		}
		fmt.Fprintf(w, "applied %s %s\n", u.GetKind(), u.GetName())
	}
	return errors.Join(errs...)
}

// apply server-side applies one object, for real or as a dry run.
func (cl *Cluster) apply(ctx context.Context, u *unstructured.Unstructured, force, dryRun bool) (*unstructured.Unstructured, error) {
	r, _, err := cl.resource(u.GetAPIVersion(), u.GetKind(), u.GetNamespace())
	if err != nil {
		return nil, err
	}
	data, err := u.MarshalJSON()
	if err != nil {
		return nil, err
	}
	opts := metav1.PatchOptions{FieldManager: FieldManager, Force: &force}
	if dryRun {
		opts.DryRun = []string{metav1.DryRunAll}
	}
	got, err := r.Patch(ctx, u.GetName(), types.ApplyPatchType, data, opts)
	if apierrors.IsConflict(err) && ownConflicts(err) {
		// Only stop or start held them: deploying again takes them back.
		opts.Force = ptr(true)
		got, err = r.Patch(ctx, u.GetName(), types.ApplyPatchType, data, opts)
	}
	switch {
	case apierrors.IsConflict(err):
		return nil, fmt.Errorf("%s %s: fields meshc sets are owned by another manager: %w (change them back, or deploy with --force-conflicts to take them over)", u.GetKind(), u.GetName(), err)
	case err != nil:
		return nil, fmt.Errorf("applying %s %s: %w", u.GetKind(), u.GetName(), err)
	}
	return got, nil
}

// ownConflicts tells whether every field in conflict is held by meshc's
// own control manager.
func ownConflicts(err error) bool {
	var st apierrors.APIStatus
	if !errors.As(err, &st) || st.Status().Details == nil || len(st.Status().Details.Causes) == 0 {
		return false
	}
	for _, c := range st.Status().Details.Causes {
		if !strings.Contains(c.Message, `"`+controlManager+`"`) {
			return false
		}
	}
	return true
}
