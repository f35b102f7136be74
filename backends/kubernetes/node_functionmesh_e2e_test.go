//go:build e2e

package kubernetes

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// How long the operator's children may take to go once their
// FunctionMesh is deleted: the garbage collector removes them.
const operatorGCTimeout = 2 * time.Minute

// nodeFunctionMesh runs the flagship example in the functionmesh
// flavour under the real Function Mesh operator (its controllers and its
// webhooks) on a real node: meshc image builds the image, meshc deploy
// applies the FunctionMesh and the source's Deployment and waits on the
// operator's status; the operator's StatefulSets start their pods with its
// own bash command line; every count arrives (the counter keeps state);
// the pods serve metrics on the operator's metrics port; delete removes
// the mesh and the garbage collector the operator's objects.
func nodeFunctionMesh(t *testing.T, n *node) {
	dir := t.TempDir()
	meshc := buildStatic(t, dir, "github.com/meshc/meshc/cmd/meshc")
	tarball := filepath.Join(dir, "wordcount.tar")
	ref := strings.TrimSpace(run(t, meshc, "image", "--platform", "linux/amd64", "--tag", "meshc.local/wordcount:fm", "-o", tarball, wordcountMesh))
	n.importImage(t, tarball)

	b := startHostBroker(t, meshc, dir)
	pulsarURL := fmt.Sprintf("pulsar://%s:%d", gateway(t, n.names.subnet), b.port)
	ns := n.createNamespace(t, "meshc-functionmesh")
	cluster := []string{"--backend", "kubernetes", "--kubeconfig", n.kubeconfig, "--namespace", ns}
	deploy := append([]string{"deploy", "--flavour", FunctionMesh, "--image", ref, "--pulsar-url", pulsarURL, "--timeout", deployTimeout}, cluster...)
	out := run(t, meshc, append(deploy, wordcountMesh)...)
	for _, want := range []string{"applied FunctionMesh wordcount", "FunctionMesh wordcount rolled out", "Deployment wordcount-lines rolled out"} {
		if !strings.Contains(out, want) {
			t.Errorf("deploy did not say %q", want)
		}
	}
	for _, row := range []string{"split function FunctionMesh 2/2 2 2", "count function FunctionMesh 2/2 2 2", "print sink FunctionMesh 1/1 1 1"} {
		if !hasRow(out, row) {
			t.Errorf("deploy's summary has no row %q", row)
		}
	}
	checkPodsReady(t, n, ns)
	checkCounts(t, b.url, wordcountTotals)

	status := run(t, meshc, append([]string{"status", "--mesh", "wordcount"}, cluster...)...)
	for _, row := range []string{"lines source Deployment 1/1 1 1 -", "split function FunctionMesh 2/2 2 2 -"} {
		if !hasRow(status, row) {
			t.Errorf("status has no row %q", row)
		}
	}
	stop := exec.Command(meshc, append([]string{"stop", "--mesh", "wordcount"}, cluster...)...)
	if msg, err := stop.CombinedOutput(); err == nil || !strings.Contains(string(msg), "Function Mesh operator") {
		t.Errorf("stop of a mesh under the operator: %v\n%s", err, msg)
	}

	split := operatorPod(t, n, ns, "wordcount-split")
	if log := podLog(t, n, ns, split.Name); !strings.Contains(log, "shardId=") || !strings.Contains(log, "goFunctionConfigs=") {
		t.Errorf("pod %s did not run the operator's command line; its log:\n%s", split.Name, log)
	}
	metrics, err := get(fmt.Sprintf("http://%s:%d/metrics", split.Status.PodIP, OperatorMetricsPort))
	if err != nil || !strings.Contains(metrics, "pulsar_function_received_total") {
		t.Errorf("pod %s serves no function metrics on :%d (%v):\n%s", split.Name, OperatorMetricsPort, err, metrics)
	}

	run(t, meshc, append([]string{"delete", "--mesh", "wordcount"}, cluster...)...)
	waitEmpty(t, n, ns)
}

// waitEmpty waits until ns holds no StatefulSet and no pod: what the
// operator made for a deleted FunctionMesh, the garbage collector removes.
func waitEmpty(t *testing.T, n *node, ns string) {
	t.Helper()
	n.waitFor(t, "the operator's objects in "+ns+" gone", operatorGCTimeout, []*proc{n.proc("kube-controller-manager")}, func() (bool, string) {
		ctx := context.Background()
		sets, err := n.client.AppsV1().StatefulSets(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err.Error()
		}
		pods, err := n.client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err.Error()
		}
		return len(sets.Items)+len(pods.Items) == 0, fmt.Sprintf("%d StatefulSets and %d pods left", len(sets.Items), len(pods.Items))
	})
}

// operatorPod is a running pod of the operator's Function (MESH-MEMBER),
// found by the label the operator gives it.
func operatorPod(t *testing.T, n *node, ns, function string) corev1.Pod {
	t.Helper()
	pods, err := n.client.CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{LabelSelector: "compute.functionmesh.io/name=" + function})
	if err != nil || len(pods.Items) == 0 {
		t.Fatalf("no pod of the operator's Function %s in %s (%v)", function, ns, err)
	}
	return pods.Items[0]
}

func podLog(t *testing.T, n *node, ns, pod string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
	defer cancel()
	data, err := n.client.CoreV1().Pods(ns).GetLogs(pod, &corev1.PodLogOptions{}).DoRaw(ctx)
	if err != nil {
		t.Fatalf("the log of pod %s: %v", pod, err)
	}
	return string(data)
}

// hasRow tells whether a line of out has the fields of row.
func hasRow(out, row string) bool {
	for _, line := range strings.Split(out, "\n") {
		if strings.Join(strings.Fields(line), " ") == row {
			return true
		}
	}
	return false
}

// nodeFunctionMeshExamples deploys each other example in the
// functionmesh flavour on a real node under the real operator, one
// namespace each, with the user's own instance binary and its Go
// functions (shoprt), which the operator's pod command runs as it runs
// meshrt. Every member's pods come up and report
// ready (connected to Pulsar, taking messages) on the operator's metrics
// port, and delete leaves nothing.
func nodeFunctionMeshExamples(t *testing.T, n *node) {
	dir := t.TempDir()
	meshc := buildStatic(t, dir, "github.com/meshc/meshc/cmd/meshc")
	b := startHostBroker(t, meshc, dir)
	pulsarURL := fmt.Sprintf("pulsar://%s:%d", gateway(t, n.names.subnet), b.port)
	// The image holds the binary alone, not the mesh: one serves every
	// example, and the meshes roll out side by side, each in its namespace.
	tarball := filepath.Join(dir, "shoprt.tar")
	ref := strings.TrimSpace(run(t, meshc, "image", "--platform", "linux/amd64", "--tag", "meshc.local/shoprt:fm", "-o", tarball,
		"--main", "../../examples/shop/cmd/shoprt", "../../examples/enrich.mesh"))
	n.importImage(t, tarball)
	for _, name := range []string{"enrich", "routing", "etl"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			mesh := "../../examples/" + name + ".mesh"
			deploy := []string{"deploy", "--flavour", FunctionMesh, "--pulsar-url", pulsarURL, "--timeout", deployTimeout, "--binary", "shoprt"}
			ns := n.createNamespace(t, "meshc-fm-"+name)
			cluster := []string{"--backend", "kubernetes", "--kubeconfig", n.kubeconfig, "--namespace", ns}
			out := run(t, meshc, slices.Concat(deploy, []string{"--image", ref}, cluster, []string{mesh})...)
			if !strings.Contains(out, "FunctionMesh "+name+" rolled out") {
				t.Errorf("deploy did not wait on the FunctionMesh")
			}
			checkPodsReady(t, n, ns)
			checkMembersReady(t, n, ns)
			run(t, meshc, append([]string{"delete", "--mesh", name}, cluster...)...)
			waitEmpty(t, n, ns)
		})
	}
}

// checkMembersReady asks every pod the operator made whether its instance
// is ready.
func checkMembersReady(t *testing.T, n *node, ns string) {
	t.Helper()
	pods, err := n.client.CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{LabelSelector: "compute.functionmesh.io/app=function-mesh"})
	if err != nil || len(pods.Items) == 0 {
		t.Fatalf("no pods of the operator in %s (%v)", ns, err)
	}
	for _, p := range pods.Items {
		url := fmt.Sprintf("http://%s:%d/readyz", p.Status.PodIP, OperatorMetricsPort)
		n.waitFor(t, "pod "+p.Name+" ready", podReadyTimeout, nil, func() (bool, string) {
			body, err := get(url)
			return err == nil, fmt.Sprintf("%v %s", err, body)
		})
	}
	t.Logf("%d pods of the operator ready", len(pods.Items))
}
