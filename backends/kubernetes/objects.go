package kubernetes

import (
	"bytes"
	"fmt"
	"slices"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	sigsyaml "sigs.k8s.io/yaml"

	"github.com/meshc/meshc/backends"
)

// Labels every object of a mesh carries, by which deploy finds what it
// made before and what to prune.
const (
	partOfLabel    = "app.kubernetes.io/part-of"
	managedByLabel = "app.kubernetes.io/managed-by"
	componentLabel = "app.kubernetes.io/component"
	nameLabel      = "app.kubernetes.io/name"
	instanceLabel  = "app.kubernetes.io/instance"
)

// objects reads the manifests of Emit as objects to apply, the
// Kustomization left out, in the order to apply them: what others refer to
// first (namespaces, accounts, plans, services), then the workloads, so
// that a pod never starts without its plan.
func objects(files []backends.File) ([]*unstructured.Unstructured, error) {
	var out []*unstructured.Unstructured
	for _, f := range files {
		if !IsResource(f.Path) {
			continue
		}
		data, err := f.Bytes()
		if err != nil {
			return nil, err
		}
		for _, doc := range bytes.Split(data, []byte("\n---\n")) {
			doc = bytes.TrimPrefix(doc, []byte("---\n"))
			if len(bytes.TrimSpace(doc)) == 0 {
				continue
			}
			u := &unstructured.Unstructured{}
			if err := sigsyaml.Unmarshal(doc, &u.Object); err != nil {
				return nil, fmt.Errorf("reading %s: %w", f.Path, err)
			}
			out = append(out, u)
		}
	}
	slices.SortStableFunc(out, func(a, b *unstructured.Unstructured) int { return applyRank(a) - applyRank(b) })
	return out, nil
}

// applyRank orders kinds for applying.
func applyRank(u *unstructured.Unstructured) int {
	switch u.GetKind() {
	case "Namespace":
		return 0
	case "ServiceAccount", "Role", "RoleBinding":
		return 1
	case "ConfigMap", "Secret", "Service":
		return 2
	case "Deployment", "StatefulSet", "FunctionMesh":
		return 3
	}
	return 4 // PodDisruptionBudgets, autoscalers: about workloads
}

// isSource tells a source's objects, which start last so that what they
// write finds the subscriptions of the functions made.
func isSource(u *unstructured.Unstructured) bool { return u.GetLabels()[componentLabel] == "source" }

// key names an object for sets and messages: Kind/namespace/name.
func key(u *unstructured.Unstructured) string {
	return u.GetKind() + "/" + u.GetNamespace() + "/" + u.GetName()
}
