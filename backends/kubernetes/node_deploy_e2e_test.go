//go:build e2e

package kubernetes

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

const (
	wordcountMesh      = "../../examples/wordcount.mesh"
	deployTimeout      = "4m"
	countsTimeout      = 2 * time.Minute
	brokerStart        = 30 * time.Second
	wordcountCounts    = "persistent://public/default/counts"
	wordcountSentences = "persistent://public/default/sentences"
	// What the test sends while it redeploys: a sentence of words the
	// example counts, liveSentences times, liveInterval apart, so that
	// sending spans the rollout.
	liveSentence  = "the quick brown fox"
	liveSentences = 400
	liveInterval  = 50 * time.Millisecond
)

// wordcountTotals are the final counts of examples/wordcount.mesh's 100
// lines.
var wordcountTotals = map[string]int64{"the": 100, "quick": 34, "brown": 34, "fox": 34, "jumps": 33, "over": 33,
	"lazy": 33, "dog": 66, "sleeps": 33}

// nodeDeploysWordcount runs the flagship example on a real node as a
// user would: meshc image builds its image, which is imported into the
// node's containerd; meshc broker's embedded broker serves Pulsar on the
// host; meshc deploy --backend kubernetes applies it and waits for the
// rollout; every count arrives; a redeploy with another replica count
// rolls; a bad image fails deploy with the pod's reason; delete removes
// every object.
func nodeDeploysWordcount(t *testing.T, n *node) {
	dir := t.TempDir()
	meshc := buildStatic(t, dir, "github.com/meshc/meshc/cmd/meshc")
	tarball := filepath.Join(dir, "wordcount.tar")
	ref := strings.TrimSpace(run(t, meshc, "image", "--platform", "linux/amd64", "--tag", "meshc.local/wordcount:e2e", "-o", tarball, wordcountMesh))
	n.importImage(t, tarball)
	t.Logf("image %s", ref)

	b := startHostBroker(t, meshc, dir)
	pulsarURL := fmt.Sprintf("pulsar://%s:%d", gateway(t, n.names.subnet), b.port)
	ns := n.createNamespace(t, "meshc-wordcount")
	deploy := []string{"deploy", "--backend", "kubernetes", "--kubeconfig", n.kubeconfig, "--namespace", ns,
		"--image", ref, "--pulsar-url", pulsarURL, "--timeout", deployTimeout, wordcountMesh}

	out := run(t, meshc, deploy...)
	for _, want := range []string{"Deployment wordcount-split rolled out", "StatefulSet wordcount-count rolled out", "Deployment wordcount-lines rolled out"} {
		if !strings.Contains(out, want) {
			t.Errorf("deploy did not say %q", want)
		}
	}
	checkPodsReady(t, n, ns)
	checkCounts(t, b.url, wordcountTotals)

	// Under live traffic, another replica count and a rolling restart of
	// split lose no message: every sentence sent meanwhile is counted.
	sent := make(chan int, 1)
	go func() { sent <- sendSentences(t, b.url, liveSentences, liveInterval) }()
	out = run(t, meshc, append(deploy, "-p", "replicas=3")...)
	if !strings.Contains(out, "wordcount-split rolled out") {
		t.Errorf("the redeploy did not roll split out")
	}
	run(t, meshc, "restart", "--backend", "kubernetes", "--kubeconfig", n.kubeconfig, "--namespace", ns, "--mesh", "wordcount", "split")
	extra := int64(<-sent)
	checkPodsReady(t, n, ns)
	live := map[string]int64{}
	for w, c := range wordcountTotals {
		live[w] = c
	}
	for _, w := range strings.Fields(liveSentence) {
		live[w] += extra
	}
	checkCounts(t, b.url, live)
	dry := run(t, meshc, append(deploy, "-p", "replicas=3", "--dry-run")...)
	if strings.TrimSpace(lastLine(dry)) != "no changes" {
		t.Errorf("a dry run of the deployed mesh: %s", dry)
	}

	// An image the node does not have: deploy fails with the pod's reason.
	bad := exec.Command(meshc, append(deploy[:len(deploy)-1], "--image", "meshc.local/absent:1", "-p", "replicas=3", wordcountMesh)...)
	msg, err := bad.CombinedOutput()
	if err == nil || !strings.Contains(string(msg), "ImagePull") {
		t.Errorf("deploying a missing image: %v\n%s", err, msg)
	}

	run(t, meshc, "delete", "--backend", "kubernetes", "--kubeconfig", n.kubeconfig, "--namespace", ns, "--mesh", "wordcount")
	cl, err := NewCluster(n.config, ns)
	if err != nil {
		t.Fatal(err)
	}
	if left, err := cl.owned(context.Background(), "wordcount", ns); err != nil || len(left) > 0 {
		t.Errorf("after delete: %d objects of the mesh left (%v)", len(left), err)
	}
}

// run runs meshc and returns its standard output; both go to the log.
func run(t *testing.T, bin string, args ...string) string {
	t.Helper()
	var stdout, stderr strings.Builder
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	t.Logf("meshc %s:\n%s%s", strings.Join(args, " "), stdout.String(), stderr.String())
	if err != nil {
		t.Fatalf("meshc %s: %v", strings.Join(args, " "), err)
	}
	return stdout.String()
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

// hostBroker is meshc broker on the host, on all addresses so that pods
// reach it through their bridge's gateway.
type hostBroker struct {
	url  string // on loopback, for the test
	port int
}

func startHostBroker(t *testing.T, meshc, dir string) hostBroker {
	t.Helper()
	port := freePort(t)
	log, err := os.Create(filepath.Join(dir, "broker.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(meshc, "broker", "--listen", fmt.Sprintf("0.0.0.0:%d", port), "--admin-listen", "",
		"--data", filepath.Join(dir, "broker"))
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting meshc broker: %v", err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		cmd.Wait()
		log.Close()
	})
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	for deadline := time.Now().Add(brokerStart); ; time.Sleep(50 * time.Millisecond) {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			data, _ := os.ReadFile(log.Name())
			t.Fatalf("meshc broker does not listen on %s after %s:\n%s", addr, brokerStart, data)
		}
	}
	return hostBroker{url: "pulsar://" + addr, port: port}
}

// sendSentences writes n copies of liveSentence to the mesh's input, one
// every interval, and returns how many it wrote.
func sendSentences(t *testing.T, url string, n int, interval time.Duration) int {
	c, err := pulsar.NewClient(pulsar.ClientOptions{URL: url})
	if err != nil {
		t.Error(err)
		return 0
	}
	defer c.Close()
	p, err := c.CreateProducer(pulsar.ProducerOptions{Topic: wordcountSentences})
	if err != nil {
		t.Error(err)
		return 0
	}
	defer p.Close()
	for i := range n {
		if _, err := p.Send(context.Background(), &pulsar.ProducerMessage{Payload: []byte(liveSentence)}); err != nil {
			t.Errorf("sending sentence %d: %v", i, err)
			return i
		}
		time.Sleep(interval)
	}
	return n
}

// gateway is the host's address on the node's pod network: the first of
// its subnet, which the bridge plugin gives the bridge.
func gateway(t *testing.T, subnet string) string {
	t.Helper()
	ip, _, err := net.ParseCIDR(subnet)
	if err != nil {
		t.Fatal(err)
	}
	ip = ip.To4()
	ip[3]++
	return ip.String()
}

// checkPodsReady waits until every pod of the namespace is Running and Ready.
func checkPodsReady(t *testing.T, n *node, ns string) {
	t.Helper()
	n.waitFor(t, "every pod of "+ns+" Ready", podReadyTimeout, []*proc{n.proc("kubelet")}, func() (bool, string) {
		pods, err := n.client.CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{})
		if err != nil {
			return false, err.Error()
		}
		for _, p := range pods.Items {
			if p.DeletionTimestamp != nil {
				return false, p.Name + " is terminating"
			}
			ready := false
			for _, c := range p.Status.Conditions {
				ready = ready || c.Type == "Ready" && c.Status == "True"
			}
			if !ready {
				return false, p.Name + " is " + string(p.Status.Phase) + ", not Ready"
			}
		}
		return len(pods.Items) > 0, fmt.Sprintf("%d pods", len(pods.Items))
	})
}

// checkCounts reads the counts topic until every word has its total, and
// fails when one ends below it.
func checkCounts(t *testing.T, url string, want map[string]int64) {
	t.Helper()
	c, err := pulsar.NewClient(pulsar.ClientOptions{URL: url})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	r, err := c.CreateReader(pulsar.ReaderOptions{Topic: wordcountCounts, StartMessageID: pulsar.EarliestMessageID()})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	got := map[string]int64{}
	ctx, cancel := context.WithTimeout(context.Background(), countsTimeout)
	defer cancel()
	for !reached(got, want) {
		msg, err := r.Next(ctx)
		if err != nil {
			t.Fatalf("counts so far %v, want %v: %v", got, want, err)
		}
		var c struct {
			Word  string
			Count int64
		}
		if err := json.Unmarshal(msg.Payload(), &c); err != nil {
			t.Fatalf("a count that is not JSON: %q", msg.Payload())
		}
		got[c.Word] = max(got[c.Word], c.Count)
	}
	t.Logf("counts on %s: %v", wordcountCounts, got)
}

func reached(got, want map[string]int64) bool {
	for w, n := range want {
		if got[w] < n {
			return false
		}
	}
	return true
}
