//go:build e2e

package kubernetes

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

const (
	// healthzImage runs testdata/node/healthz.
	healthzImage = "meshc.local/e2e/healthz:1"
	// A pod's image is local, so it is Ready within seconds; deleting it
	// waits for the kubelet to stop it (the server stops on SIGTERM).
	podReadyTimeout = time.Minute
	podGoneTimeout  = time.Minute
)

// TestNode runs the tests that need a node on one node: a node takes
// 10-15 s to start, and each test keeps to its own namespace. The Function
// Mesh tests share one operator, whose webhook port is fixed.
func TestNode(t *testing.T) {
	n := startNode(t)
	t.Run("RunsPods", func(t *testing.T) { nodeRunsPods(t, n) })
	t.Run("DeploysWordcount", func(t *testing.T) { nodeDeploysWordcount(t, n) })
	t.Run("FunctionMesh", func(t *testing.T) {
		startOperator(t, kubeFor(t, n.config))
		t.Run("Wordcount", func(t *testing.T) { nodeFunctionMesh(t, n) })
		t.Run("Examples", func(t *testing.T) { nodeFunctionMeshExamples(t, n) })
	})
}

// nodeRunsPods runs a pod on a real node: scheduled, started from an
// image the test built, Ready by its probe, its logs read through the API
// server from the kubelet, answering on loopback, and deleted.
func nodeRunsPods(t *testing.T, n *node) {
	n.loadImage(t, healthzImage, "./testdata/node/healthz")
	ns := n.createNamespace(t, "meshc-e2e-node")
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	pods := n.client.CoreV1().Pods(ns)
	ctx := t.Context()

	begin := time.Now()
	if _, err := pods.Create(ctx, healthzPod(addr), metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating the pod: %v", err)
	}
	n.waitPodReady(t, ns, "healthz")
	t.Logf("pod Running and Ready in %s", since(begin))

	logs, err := pods.GetLogs("healthz", &corev1.PodLogOptions{}).DoRaw(ctx)
	if want := "healthz: serving on " + addr; err != nil || !strings.Contains(string(logs), want) {
		t.Errorf("pod logs = %q, %v; want a line %q", logs, err, want)
	}
	if body, err := get("http://" + addr + "/healthz"); err != nil || body != "ok\n" {
		t.Errorf("GET /healthz = %q, %v; want \"ok\\n\"", body, err)
	}

	begin = time.Now()
	if err := pods.Delete(ctx, "healthz", metav1.DeleteOptions{}); err != nil {
		t.Fatalf("deleting the pod: %v", err)
	}
	n.waitFor(t, "the pod to be gone", podGoneTimeout, []*proc{n.proc("kubelet")}, func() (bool, string) {
		_, err := pods.Get(ctx, "healthz", metav1.GetOptions{})
		return apierrors.IsNotFound(err), fmt.Sprint(err)
	})
	t.Logf("pod deleted in %s", since(begin))
	if _, err := get("http://" + addr + "/healthz"); err == nil {
		t.Errorf("%s still answers after the pod is gone", addr)
	}
}

// healthzPod serves /healthz on addr, a loopback address: the pod uses the
// host's network, as there is no kube-proxy or cluster DNS.
func healthzPod(addr string) *corev1.Pod {
	_, port, _ := strings.Cut(addr, ":")
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "healthz"},
		Spec: corev1.PodSpec{
			HostNetwork:                   true,
			TerminationGracePeriodSeconds: ptr(int64(5)),
			Containers: []corev1.Container{{
				Name:            "healthz",
				Image:           healthzImage,
				ImagePullPolicy: corev1.PullNever,
				Args:            []string{"-listen", addr},
				ReadinessProbe: &corev1.Probe{
					// The probe's default host is the pod's IP, the machine's
					// address, where the server does not listen.
					ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{
						Host: "127.0.0.1", Path: "/healthz", Port: intstr.Parse(port),
					}},
					PeriodSeconds: 1,
				},
			}},
		},
	}
}

// waitPodReady waits until the pod runs and is Ready, failing the test with
// its status and events if it does not, or as soon as it fails.
func (n *node) waitPodReady(t *testing.T, ns, name string) {
	t.Helper()
	n.waitFor(t, "pod "+ns+"/"+name+" to be Ready", podReadyTimeout, []*proc{n.proc("kubelet"), n.proc("containerd")}, func() (bool, string) {
		ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
		defer cancel()
		pod, err := n.client.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		if pod.Status.Phase == corev1.PodFailed {
			t.Fatalf("pod %s/%s failed: %s", ns, name, n.describePod(pod))
		}
		for _, c := range pod.Status.Conditions {
			if c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue && pod.Status.Phase == corev1.PodRunning {
				return true, ""
			}
		}
		return false, n.describePod(pod)
	})
}

// describePod is the pod's phase, container states and events, for a
// failure message.
func (n *node) describePod(pod *corev1.Pod) string {
	var b strings.Builder
	fmt.Fprintf(&b, "phase %s", pod.Status.Phase)
	for _, c := range pod.Status.Conditions {
		if c.Status != corev1.ConditionTrue {
			fmt.Fprintf(&b, "; %s=%s %s", c.Type, c.Status, c.Message)
		}
	}
	for _, cs := range pod.Status.ContainerStatuses {
		switch s := cs.State; {
		case s.Waiting != nil:
			fmt.Fprintf(&b, "; container %s waiting: %s %s", cs.Name, s.Waiting.Reason, s.Waiting.Message)
		case s.Terminated != nil:
			fmt.Fprintf(&b, "; container %s terminated: %s (exit %d) %s", cs.Name, s.Terminated.Reason, s.Terminated.ExitCode, s.Terminated.Message)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
	defer cancel()
	events, err := n.client.CoreV1().Events(pod.Namespace).List(ctx, metav1.ListOptions{FieldSelector: "involvedObject.name=" + pod.Name})
	if err == nil {
		for _, e := range events.Items {
			fmt.Fprintf(&b, "\n  event %s %s: %s", e.Type, e.Reason, e.Message)
		}
	}
	return b.String()
}

func get(url string) (string, error) {
	c := &http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return string(body), fmt.Errorf("%s", resp.Status)
	}
	return string(body), err
}
