package kubernetes

import (
	"context"
	"fmt"
	"io"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
)

// meshKinds are the kinds of object meshc makes for a mesh, which prune
// and delete look through; FunctionMesh only where the operator's CRD is
// installed.
var meshKinds = []struct{ apiVersion, kind string }{
	{"apps/v1", "Deployment"}, {"apps/v1", "StatefulSet"}, {"compute.functionmesh.io/v1alpha1", "FunctionMesh"},
	{"autoscaling/v2", "HorizontalPodAutoscaler"}, {"policy/v1", "PodDisruptionBudget"},
	{"v1", "Service"}, {"v1", "ConfigMap"}, {"v1", "ServiceAccount"},
}

// meshSelector selects the objects meshc made for a mesh.
func meshSelector(mesh string) string {
	return labels.Set{partOfLabel: dnsName(mesh), managedByLabel: FieldManager}.String()
}

// owned lists the objects meshc made for a mesh in ns, by kind in
// meshKinds' order.
func (cl *Cluster) owned(ctx context.Context, mesh, ns string) ([]unstructured.Unstructured, error) {
	var out []unstructured.Unstructured
	for _, k := range meshKinds {
		r, _, err := cl.resource(k.apiVersion, k.kind, ns)
		if err != nil {
			continue // a kind the cluster does not serve holds nothing of the mesh
		}
		list, err := r.List(ctx, metav1.ListOptions{LabelSelector: meshSelector(mesh)})
		if apierrors.IsNotFound(err) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("listing the %ss of mesh %s: %w", k.kind, mesh, err)
		}
		out = append(out, list.Items...)
	}
	return out, nil
}

// stale lists the objects of the mesh that objs no longer hold.
func (cl *Cluster) stale(ctx context.Context, mesh string, objs []*unstructured.Unstructured) ([]unstructured.Unstructured, error) {
	keep, components := map[string]bool{}, map[string]bool{}
	ns := cl.namespace
	for _, u := range objs {
		if u.GetNamespace() != "" {
			ns = u.GetNamespace()
		}
		keep[u.GetKind()+"/"+u.GetName()] = true
		components[u.GetLabels()[nameLabel]] = true
	}
	live, err := cl.owned(ctx, mesh, ns)
	if err != nil {
		return nil, err
	}
	var out []unstructured.Unstructured
	for _, u := range live {
		if keep[u.GetKind()+"/"+u.GetName()] {
			continue
		}
		if of, ok := u.GetLabels()[PlanOfLabel]; ok && components[of] {
			// An earlier plan of a component still there: plans are
			// content-addressed, and these are its rollout history, so
			// that a rollback finds the plan it needs.
			continue
		}
		out = append(out, u)
	}
	return out, nil
}

// prune deletes the objects of the mesh that objs no longer hold.
func (cl *Cluster) prune(ctx context.Context, w io.Writer, mesh string, objs []*unstructured.Unstructured) error {
	stale, err := cl.stale(ctx, mesh, objs)
	if err != nil {
		return err
	}
	for _, u := range stale {
		if err := cl.remove(ctx, &u); err != nil {
			return err
		}
		fmt.Fprintf(w, "pruned %s %s\n", u.GetKind(), u.GetName())
	}
	return nil
}

// remove deletes an object; its pods and the like go in the background.
func (cl *Cluster) remove(ctx context.Context, u *unstructured.Unstructured) error {
	r, _, err := cl.resource(u.GetAPIVersion(), u.GetKind(), u.GetNamespace())
	if err != nil {
		return err
	}
	policy := metav1.DeletePropagationBackground
	err = r.Delete(ctx, u.GetName(), metav1.DeleteOptions{PropagationPolicy: &policy})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("deleting %s %s: %w", u.GetKind(), u.GetName(), err)
	}
	return nil
}
