package kubernetes

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// Timing of the rollout wait.
const (
	rolloutPoll = time.Second
	// stuckAfter is how long a pod may wait for its image or crash-loop
	// before deploy gives up on it rather than on the whole timeout.
	stuckAfter = 30 * time.Second
	logLines   = 10
)

// Waiting reasons a pod does not leave by itself: deploy fails at once.
var hopeless = []string{"ErrImageNeverPull", "InvalidImageName", "CreateContainerConfigError", "CreateContainerError"}

// Waiting reasons that may pass (a registry hiccup, a crash once): deploy
// fails once a pod has shown one for stuckAfter.
var stuck = []string{"ImagePullBackOff", "ErrImagePull", "CrashLoopBackOff"}

// awaitRollout waits until every Deployment, StatefulSet and FunctionMesh
// among objs has rolled out, as kubectl rollout status does: the
// controller has seen the latest spec and every replica is updated and
// available. Pods that cannot start end the wait with their reasons.
func (cl *Cluster) awaitRollout(ctx context.Context, w io.Writer, mesh string, objs []*unstructured.Unstructured) error {
	pending := map[string]*unstructured.Unstructured{}
	for _, u := range objs {
		if k := u.GetKind(); k == "Deployment" || k == "StatefulSet" || k == "FunctionMesh" {
			pending[key(u)] = u
		}
	}
	firstStuck := map[string]time.Time{}
	for len(pending) > 0 {
		for _, k := range slices.Sorted(maps.Keys(pending)) {
			u := pending[k]
			done, err := cl.rolledOut(ctx, u)
			if err != nil {
				return err
			}
			if done {
				fmt.Fprintf(w, "%s %s rolled out\n", u.GetKind(), u.GetName())
				delete(pending, k)
			}
		}
		if len(pending) == 0 {
			return nil
		}
		if err := cl.podTrouble(ctx, mesh, firstStuck); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			why := cl.why(context.Background(), mesh)
			return fmt.Errorf("mesh %s did not roll out in time: %s not ready%s", mesh, strings.Join(slices.Sorted(maps.Keys(pending)), ", "), why)
		case <-time.After(rolloutPoll):
		}
	}
	return nil
}

// rolledOut tells whether a workload has rolled out.
func (cl *Cluster) rolledOut(ctx context.Context, u *unstructured.Unstructured) (bool, error) {
	r, _, err := cl.resource(u.GetAPIVersion(), u.GetKind(), u.GetNamespace())
	if err != nil {
		return false, err
	}
	live, err := r.Get(ctx, u.GetName(), metav1.GetOptions{})
	if err != nil {
		return false, fmt.Errorf("reading %s %s: %w", u.GetKind(), u.GetName(), err)
	}
	if u.GetKind() == "FunctionMesh" {
		return cl.functionMeshReady(ctx, live)
	}
	st := statusOf(live)
	if st.observed < live.GetGeneration() || st.updated < st.wanted {
		return false, nil
	}
	if u.GetKind() == "StatefulSet" {
		return st.ready >= st.wanted && st.currentRevision == st.updateRevision, nil
	}
	return st.available >= st.wanted && st.replicas <= st.updated, nil // no old pods left
}

// functionMeshReady tells whether the operator has seen the mesh's latest
// spec and says every member is ready, and each member's StatefulSet has
// rolled out: the operator's readiness counts ready pods, old or new.
func (cl *Cluster) functionMeshReady(ctx context.Context, live *unstructured.Unstructured) (bool, error) {
	observed, _, _ := unstructured.NestedInt64(live.Object, "status", "observedGeneration")
	if observed < live.GetGeneration() {
		return false, nil
	}
	members, _, _ := unstructured.NestedSlice(live.Object, "spec", "functions")
	for _, m := range members {
		name, _, _ := unstructured.NestedString(m.(map[string]any), "name")
		ready, _, _ := unstructured.NestedString(live.Object, "status", "functionConditions", name, "status")
		if ready != string(metav1.ConditionTrue) {
			return false, nil
		}
		sts := &unstructured.Unstructured{}
		sts.SetAPIVersion("apps/v1")
		sts.SetKind("StatefulSet")
		sts.SetNamespace(live.GetNamespace())
		sts.SetName(OperatorStatefulSet(live.GetName(), name))
		done, err := cl.rolledOut(ctx, sts)
		if apierrors.IsNotFound(err) {
			return false, nil // the operator has yet to make it
		}
		if !done || err != nil {
			return false, err
		}
	}
	return true, nil
}

// OperatorStatefulSet is the StatefulSet the Function Mesh operator makes
// for a member of a FunctionMesh: its Function is MESH-MEMBER, and the
// Function's StatefulSet adds -function.
func OperatorStatefulSet(mesh, member string) string { return mesh + "-" + member + "-function" }

// workloadStatus is what a Deployment's or StatefulSet's status says.
type workloadStatus struct {
	wanted, replicas, updated, ready, available, observed int64
	currentRevision, updateRevision                       string
}

func statusOf(u *unstructured.Unstructured) workloadStatus {
	n := func(path ...string) int64 {
		v, _, _ := unstructured.NestedInt64(u.Object, path...)
		return v
	}
	s := func(path ...string) string {
		v, _, _ := unstructured.NestedString(u.Object, path...)
		return v
	}
	wanted, found, _ := unstructured.NestedInt64(u.Object, "spec", "replicas")
	if !found {
		wanted = 1
	}
	return workloadStatus{wanted: wanted, replicas: n("status", "replicas"), updated: n("status", "updatedReplicas"),
		ready: n("status", "readyReplicas"), available: n("status", "availableReplicas"),
		observed:        n("status", "observedGeneration"),
		currentRevision: s("status", "currentRevision"), updateRevision: s("status", "updateRevision")}
}

// podTrouble fails when a pod of the mesh cannot start: at once for a
// hopeless reason, after stuckAfter for one that may pass.
func (cl *Cluster) podTrouble(ctx context.Context, mesh string, since map[string]time.Time) error {
	pods, err := cl.pods(ctx, mesh)
	if err != nil {
		return err
	}
	for _, p := range pods {
		for _, c := range waiting(p) {
			k := p.GetName() + "/" + c.container
			switch {
			case slices.Contains(hopeless, c.reason):
			case slices.Contains(stuck, c.reason):
				if since[k].IsZero() {
					since[k] = time.Now()
				}
				if time.Since(since[k]) < stuckAfter {
					continue
				}
			default:
				continue
			}
			return errors.New(cl.podReport(ctx, p, c))
		}
	}
	return nil
}

// containerWait is a container of a pod waiting to run, and why.
type containerWait struct{ container, reason, message string }

func waiting(p unstructured.Unstructured) []containerWait {
	var out []containerWait
	statuses, _, _ := unstructured.NestedSlice(p.Object, "status", "containerStatuses")
	for _, s := range statuses {
		m, _ := s.(map[string]any)
		name, _ := m["name"].(string)
		if w, ok, _ := unstructured.NestedMap(m, "state", "waiting"); ok {
			reason, _ := w["reason"].(string)
			msg, _ := w["message"].(string)
			out = append(out, containerWait{name, reason, msg})
		}
	}
	return out
}

// pods lists the pods of a mesh.
func (cl *Cluster) pods(ctx context.Context, mesh string) ([]unstructured.Unstructured, error) {
	r, _, err := cl.resource("v1", "Pod", "")
	if err != nil {
		return nil, err
	}
	list, err := r.List(ctx, metav1.ListOptions{LabelSelector: partOfLabel + "=" + dnsName(mesh)})
	if err != nil {
		return nil, fmt.Errorf("listing the pods of mesh %s: %w", mesh, err)
	}
	return list.Items, nil
}

// why says what holds the mesh's pods back: unschedulable pods, waiting
// containers and their events, for a timeout's message.
func (cl *Cluster) why(ctx context.Context, mesh string) string {
	pods, err := cl.pods(ctx, mesh)
	if err != nil {
		return ""
	}
	var b strings.Builder
	for _, p := range pods {
		if msg := unschedulable(p); msg != "" {
			fmt.Fprintf(&b, "\npod %s: Unschedulable: %s", p.GetName(), msg)
		}
		for _, c := range waiting(p) {
			b.WriteString("\n" + cl.podReport(ctx, p, c))
		}
	}
	return b.String()
}

func unschedulable(p unstructured.Unstructured) string {
	conds, _, _ := unstructured.NestedSlice(p.Object, "status", "conditions")
	for _, c := range conds {
		m, _ := c.(map[string]any)
		if m["type"] == "PodScheduled" && m["status"] == "False" {
			msg, _ := m["message"].(string)
			return msg
		}
	}
	return ""
}

// podReport says why a container does not run: its waiting reason, the
// pod's recent warning events and the last lines of its log.
func (cl *Cluster) podReport(ctx context.Context, p unstructured.Unstructured, c containerWait) string {
	var b strings.Builder
	fmt.Fprintf(&b, "pod %s, container %s: %s", p.GetName(), c.container, c.reason)
	if c.message != "" {
		fmt.Fprintf(&b, ": %s", c.message)
	}
	for _, e := range cl.warnings(ctx, p) {
		fmt.Fprintf(&b, "\n  event: %s", e)
	}
	if tail := cl.logTail(ctx, p, c.container); tail != "" {
		fmt.Fprintf(&b, "\n  last log lines:\n%s", indent(tail, "    "))
	}
	return b.String()
}

// warnings are the Warning events of a pod.
func (cl *Cluster) warnings(ctx context.Context, p unstructured.Unstructured) []string {
	r, _, err := cl.resource("v1", "Event", p.GetNamespace())
	if err != nil {
		return nil
	}
	list, err := r.List(ctx, metav1.ListOptions{FieldSelector: "involvedObject.name=" + p.GetName() + ",type=Warning"})
	if err != nil {
		return nil
	}
	var out []string
	for _, e := range list.Items {
		reason, _, _ := unstructured.NestedString(e.Object, "reason")
		msg, _, _ := unstructured.NestedString(e.Object, "message")
		out = append(out, reason+": "+msg)
	}
	return out
}

// logTail is the end of a container's log (its last run's, when it
// crash-loops), or "".
func (cl *Cluster) logTail(ctx context.Context, p unstructured.Unstructured, container string) string {
	for _, previous := range []bool{false, true} {
		url := fmt.Sprintf("%s/api/v1/namespaces/%s/pods/%s/log?container=%s&tailLines=%d&previous=%t",
			strings.TrimSuffix(cl.host, "/"), p.GetNamespace(), p.GetName(), container, logLines, previous)
		if tail := cl.get(ctx, url); tail != "" {
			return tail
		}
	}
	return ""
}

func (cl *Cluster) get(ctx context.Context, url string) string {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return ""
	}
	resp, err := cl.http.Do(req)
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return ""
	}
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 16<<10))
	return strings.TrimRight(string(data), "\n")
}

func indent(s, by string) string {
	return by + strings.ReplaceAll(s, "\n", "\n"+by)
}

// summary prints each workload of the mesh: ready, up to date, available.
func (cl *Cluster) summary(ctx context.Context, w io.Writer, mesh string) error {
	objs, err := cl.owned(ctx, mesh, cl.namespace)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tKIND\tWORKLOAD\tREADY\tUP-TO-DATE\tAVAILABLE")
	for _, u := range objs {
		switch u.GetKind() {
		case "Deployment", "StatefulSet":
			st := statusOf(&u)
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d/%d\t%d\t%d\n", u.GetLabels()[nameLabel], u.GetLabels()[componentLabel], u.GetKind(),
				st.ready, st.wanted, st.updated, st.available)
		case "FunctionMesh":
			cl.memberSummary(ctx, tw, &u, "", "")
		}
	}
	return tw.Flush()
}

// memberSummary prints a line for each member of a FunctionMesh (or only
// function, when given), from the StatefulSet the operator made for it,
// ending in more.
func (cl *Cluster) memberSummary(ctx context.Context, w io.Writer, fm *unstructured.Unstructured, function, more string) {
	r, _, err := cl.resource("apps/v1", "StatefulSet", fm.GetNamespace())
	if err != nil {
		return
	}
	members, _, _ := unstructured.NestedSlice(fm.Object, "spec", "functions")
	for _, m := range members {
		name, _, _ := unstructured.NestedString(m.(map[string]any), "name")
		if function != "" && name != dnsName(function) {
			continue
		}
		kind, _, _ := unstructured.NestedString(m.(map[string]any), "pod", "labels", componentLabel)
		sts, err := r.Get(ctx, OperatorStatefulSet(fm.GetName(), name), metav1.GetOptions{})
		if err != nil {
			fmt.Fprintf(w, "%s\t%s\tFunctionMesh\t-\t-\t-%s\n", name, kind, more)
			continue
		}
		st := statusOf(sts)
		fmt.Fprintf(w, "%s\t%s\tFunctionMesh\t%d/%d\t%d\t%d%s\n", name, kind, st.ready, st.wanted, st.updated, st.available, more)
	}
}
