package kubernetes

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
)

// controlManager owns the fields stop, start and restart set (replicas, a
// restart stamp), apart from what deploy applies; deploy takes them back.
const controlManager = FieldManager + "-control"

// stoppedAnnotation keeps a stopped workload's replica count for start.
const stoppedAnnotation = "meshc.io/stopped-replicas"

// restartedAnnotation on a pod template rolls its pods, as kubectl
// rollout restart does.
const restartedAnnotation = "kubectl.kubernetes.io/restartedAt"

// workloads lists the Deployments and StatefulSets of a mesh, or of one of
// its functions ("" for all), sources first, and the FunctionMeshes, whose
// members the operator runs.
func (cl *Cluster) workloads(ctx context.Context, mesh, function string) (ws, meshes []unstructured.Unstructured, err error) {
	objs, err := cl.owned(ctx, mesh, cl.namespace)
	if err != nil {
		return nil, nil, err
	}
	var rest []unstructured.Unstructured
	for _, u := range objs {
		switch {
		case u.GetKind() == "FunctionMesh" && (function == "" || hasMember(&u, function)):
			meshes = append(meshes, u)
		case u.GetKind() != "Deployment" && u.GetKind() != "StatefulSet":
		case function != "" && u.GetLabels()[nameLabel] != dnsName(function):
		case isSource(&u):
			ws = append(ws, u)
		default:
			rest = append(rest, u)
		}
	}
	ws = append(ws, rest...)
	if len(ws)+len(meshes) == 0 {
		if function != "" {
			return nil, nil, fmt.Errorf("mesh %s has no function, source or sink %s in namespace %s", mesh, function, cl.namespace)
		}
		return nil, nil, fmt.Errorf("no mesh %s in namespace %s (deploy it with meshc deploy --backend kubernetes)", mesh, cl.namespace)
	}
	return ws, meshes, nil
}

// hasMember tells whether a FunctionMesh runs a function or sink.
func hasMember(fm *unstructured.Unstructured, function string) bool {
	members, _, _ := unstructured.NestedSlice(fm.Object, "spec", "functions")
	for _, m := range members {
		if name, _, _ := unstructured.NestedString(m.(map[string]any), "name"); name == dnsName(function) {
			return true
		}
	}
	return false
}

// Status prints the workloads of a mesh, or of one function with its pods.
func (cl *Cluster) Status(ctx context.Context, w io.Writer, mesh, function string) error {
	ws, meshes, err := cl.workloads(ctx, mesh, function)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tKIND\tWORKLOAD\tREADY\tUP-TO-DATE\tAVAILABLE\tSTOPPED")
	for _, u := range ws {
		st := statusOf(&u)
		stopped := "-"
		if n, ok := u.GetAnnotations()[stoppedAnnotation]; ok {
			stopped = "yes (" + n + ")"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d/%d\t%d\t%d\t%s\n", u.GetLabels()[nameLabel], u.GetLabels()[componentLabel],
			u.GetKind(), st.ready, st.wanted, st.updated, st.available, stopped)
	}
	for _, fm := range meshes {
		cl.memberSummary(ctx, tw, &fm, function, "\t-")
	}
	if err := tw.Flush(); err != nil || function == "" {
		return err
	}
	return cl.podTable(ctx, w, mesh, function)
}

// podTable prints one function's pods.
func (cl *Cluster) podTable(ctx context.Context, w io.Writer, mesh, function string) error {
	pods, err := cl.pods(ctx, mesh)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "POD\tPHASE\tRESTARTS\tWAITING")
	for _, p := range pods {
		if p.GetLabels()[nameLabel] != dnsName(function) {
			continue
		}
		phase, _, _ := unstructured.NestedString(p.Object, "status", "phase")
		var reasons []string
		for _, c := range waiting(p) {
			reasons = append(reasons, c.container+": "+c.reason)
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\n", p.GetName(), phase, restarts(p), orDash(strings.Join(reasons, ", ")))
	}
	return tw.Flush()
}

func restarts(p unstructured.Unstructured) int64 {
	var n int64
	statuses, _, _ := unstructured.NestedSlice(p.Object, "status", "containerStatuses")
	for _, s := range statuses {
		m, _ := s.(map[string]any)
		c, _ := m["restartCount"].(int64)
		n += c
	}
	return n
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// Stop scales a mesh's workloads, or one function's, to zero, keeping the
// count for Start; what comes meanwhile waits in the input topics.
func (cl *Cluster) Stop(ctx context.Context, mesh, function string) error {
	ws, err := cl.controllable(ctx, mesh, function, "stop")
	if err != nil {
		return err
	}
	for _, u := range ws { // sources first: nothing more is written
		if _, stopped := u.GetAnnotations()[stoppedAnnotation]; stopped {
			continue
		}
		n := statusOf(&u).wanted
		if err := cl.control(ctx, &u, map[string]any{
			"metadata": map[string]any{"annotations": map[string]any{stoppedAnnotation: strconv.FormatInt(n, 10)}},
			"spec":     map[string]any{"replicas": 0},
		}); err != nil {
			return err
		}
	}
	return nil
}

// Start brings back the replica count of stopped workloads.
func (cl *Cluster) Start(ctx context.Context, mesh, function string) error {
	ws, err := cl.controllable(ctx, mesh, function, "start")
	if err != nil {
		return err
	}
	for i := len(ws) - 1; i >= 0; i-- { // sources last
		u := ws[i]
		kept, stopped := u.GetAnnotations()[stoppedAnnotation]
		if !stopped {
			continue
		}
		n, err := strconv.ParseInt(kept, 10, 32)
		if err != nil {
			return fmt.Errorf("%s %s: annotation %s=%q is not a count", u.GetKind(), u.GetName(), stoppedAnnotation, kept)
		}
		// Applying without the annotation drops it: this manager set it.
		if err := cl.control(ctx, &u, map[string]any{"spec": map[string]any{"replicas": n}}); err != nil {
			return err
		}
	}
	return nil
}

// Restart rolls the pods of a mesh's workloads, or one function's.
func (cl *Cluster) Restart(ctx context.Context, mesh, function string) error {
	ws, err := cl.controllable(ctx, mesh, function, "restart")
	if err != nil {
		return err
	}
	stamp := time.Now().UTC().Format(time.RFC3339)
	for _, u := range ws {
		patch := map[string]any{"spec": map[string]any{"template": map[string]any{"metadata": map[string]any{
			"annotations": map[string]any{restartedAnnotation: stamp}}}}}
		if n, stopped := u.GetAnnotations()[stoppedAnnotation]; stopped {
			patch["metadata"] = map[string]any{"annotations": map[string]any{stoppedAnnotation: n}}
			patch["spec"].(map[string]any)["replicas"] = 0
		}
		if err := cl.control(ctx, &u, patch); err != nil {
			return err
		}
	}
	return nil
}

// controllable lists the workloads stop, start and restart act on. Under
// the Function Mesh operator they have no place: the operator sets its
// StatefulSets' replicas and templates from the FunctionMesh, undoing any
// change made to them, and has no stopped state.
func (cl *Cluster) controllable(ctx context.Context, mesh, function, verb string) ([]unstructured.Unstructured, error) {
	ws, meshes, err := cl.workloads(ctx, mesh, function)
	if err != nil {
		return nil, err
	}
	if len(meshes) > 0 {
		return nil, fmt.Errorf("%s: the functions and sinks of mesh %s run under the Function Mesh operator (FunctionMesh %s), which has no way to %s them: change the mesh and deploy it again, or delete it",
			verb, mesh, meshes[0].GetName(), verb)
	}
	return ws, nil
}

// control applies the fields of patch to a workload as controlManager.
func (cl *Cluster) control(ctx context.Context, u *unstructured.Unstructured, patch map[string]any) error {
	patch["apiVersion"], patch["kind"] = u.GetAPIVersion(), u.GetKind()
	md, _ := patch["metadata"].(map[string]any)
	if md == nil {
		md = map[string]any{}
	}
	md["name"] = u.GetName()
	patch["metadata"] = md
	data, err := json.Marshal(patch)
	if err != nil {
		return err
	}
	r, _, err := cl.resource(u.GetAPIVersion(), u.GetKind(), u.GetNamespace())
	if err != nil {
		return err
	}
	force := true
	_, err = r.Patch(ctx, u.GetName(), types.ApplyPatchType, data, metav1.PatchOptions{FieldManager: controlManager, Force: &force})
	if err != nil {
		return fmt.Errorf("%s %s: %w", u.GetKind(), u.GetName(), err)
	}
	return nil
}

// Delete removes every object of a mesh, sources first, and waits until
// its workloads are gone.
func (cl *Cluster) Delete(ctx context.Context, mesh string) error {
	objs, err := cl.owned(ctx, mesh, cl.namespace)
	if err != nil {
		return err
	}
	if len(objs) == 0 {
		return fmt.Errorf("no mesh %s in namespace %s", mesh, cl.namespace)
	}
	for _, first := range []bool{true, false} {
		for _, u := range objs {
			if isSource(&u) == first {
				if err := cl.remove(ctx, &u); err != nil {
					return err
				}
			}
		}
	}
	for {
		left, err := cl.owned(ctx, mesh, cl.namespace)
		if err != nil || len(left) == 0 {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("mesh %s: %d objects are still being deleted: %w", mesh, len(left), ctx.Err())
		case <-time.After(rolloutPoll):
		}
	}
}
