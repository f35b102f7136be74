//go:build e2e

package kubernetes

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"text/template"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	clientset "k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// A node for the e2e tests: containerd, etcd, kube-apiserver,
// kube-controller-manager, kube-scheduler and a kubelet, all on loopback,
// started by startNode and torn down when the test ends. It needs root and
// the Debian packages .ci/node-packages.sh installs; the Kubernetes binaries
// come from .ci/kube.sh. No image can be pulled here: tests build theirs
// (see node_image_test.go) and pods use imagePullPolicy Never. There is no
// kube-proxy or cluster DNS, so test traffic stays on loopback: pods use
// hostNetwork and distinct ports.

const (
	kubeletEnv           = "MESHC_KUBELET"
	controllerManagerEnv = "MESHC_KUBE_CONTROLLER_MANAGER"
	schedulerEnv         = "MESHC_KUBE_SCHEDULER"

	// pauseImage is containerd's sandbox image, built by startNode.
	pauseImage = "meshc.local/e2e/pause:1"
	// criNamespace is the containerd namespace the kubelet's containers live in.
	criNamespace = "k8s.io"
	// A node's folder is os.TempDir()/meshc-node-*; its logs are in a
	// folder of their own (meshc-nodelogs-*) so they can outlive it.
	nodeDirPrefix = "meshc-node-"
	logDirPrefix  = "meshc-nodelogs-"
	nodeToken     = "meshc-e2e-node-token"
	// keepLogsEnv, set to anything, keeps the logs of a node whose test
	// passed too.
	keepLogsEnv = "MESHC_NODE_KEEP_LOGS"
)

// Timings, measured on 2 cores: the API server is ready 2.5-3.5 s after
// it starts, the node Ready and schedulable about 1 s after the kubelet
// starts (a probe of this machine once saw 20 s), a pod Ready 1-2 s after
// it is created. The timeouts leave room for a loaded machine.
const (
	containerdTimeout   = 30 * time.Second
	controlPlaneTimeout = 2 * time.Minute
	nodeReadyTimeout    = 2 * time.Minute
	requestTimeout      = 10 * time.Second // one API call or ctr command
	pollInterval        = 200 * time.Millisecond
	stopGrace           = 5 * time.Second  // from SIGTERM to SIGKILL
	goneTimeout         = 10 * time.Second // for killed processes and emptied cgroups to go
	logTailBytes        = 6000             // of a log shown when a component fails
)

// node is a running single-node cluster.
type node struct {
	name       string       // the Node's name: this machine's host name
	config     *rest.Config // admin access to the API server
	client     clientset.Interface
	kubeconfig string // the same access as a kubeconfig file, for other tools
	logDir     string // NAME.log of every component; kept when the test fails

	dir   string // everything else the node writes; removed at the end
	names nodeNames
	procs []*proc // in start order
}

// startNode starts a node and waits until pods can be scheduled on it.
// Everything it starts is stopped and removed when the test ends. A
// component that cannot start fails the test with the end of its log.
func startNode(t *testing.T) *node {
	t.Helper()
	begin := time.Now()
	bins := nodeBinaries(t)
	checkHost(t)
	sweepStaleNodes(t)
	n := newNode(t)
	t.Cleanup(func() { n.teardown(t) })
	n.startContainerd(t)
	n.startControlPlane(t, bins)
	n.loadImage(t, pauseImage, "./testdata/node/pause")
	n.startKubelet(t, bins.kubelet)
	t.Logf("node %s ready in %s (logs in %s)", n.name, since(begin), n.logDir)
	return n
}

type binaries struct{ etcd, apiserver, controllerManager, scheduler, kubelet string }

func nodeBinaries(t *testing.T) binaries {
	t.Helper()
	return binaries{
		etcd:              serverBinary(t, etcdEnv),
		apiserver:         serverBinary(t, apiserverEnv),
		controllerManager: serverBinary(t, controllerManagerEnv),
		scheduler:         serverBinary(t, schedulerEnv),
		kubelet:           serverBinary(t, kubeletEnv),
	}
}

// checkHost fails the test, saying what to do, when the machine lacks
// something the node needs.
func checkHost(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Fatal("a node needs root (containerd, mounts, cgroups): run the e2e tests as root")
	}
	var missing []string
	for _, c := range []string{"containerd", "containerd-shim-runc-v2", "ctr", "runc", "ip"} {
		if _, err := exec.LookPath(c); err != nil {
			missing = append(missing, c)
		}
	}
	for _, f := range []string{"/usr/lib/cni/bridge", "/usr/lib/cni/host-local", "/usr/lib/cni/loopback"} {
		if _, err := os.Stat(f); err != nil {
			missing = append(missing, f)
		}
	}
	if len(missing) > 0 {
		t.Fatalf("missing %s: run .ci/node-packages.sh as root (it installs containerd, runc, containernetworking-plugins and iproute2)",
			strings.Join(missing, ", "))
	}
	host, err := os.Hostname()
	if err != nil {
		t.Fatal(err)
	}
	// The kubelet listens on 127.0.0.1 only, and the API server reaches it
	// (for logs) through the Node's host name.
	addrs, err := net.LookupIP(host)
	if err != nil || len(addrs) == 0 || !addrs[0].IsLoopback() {
		t.Fatalf("host name %q resolves to %v (%v), not to loopback: add \"127.0.0.1 %s\" to /etc/hosts", host, addrs, err, host)
	}
}

// nodeNames are the names a node's folder implies, so a sweep can find
// everything from the folder alone.
type nodeNames struct {
	network    string // the CNI network, also the prefix of libcni's cache files
	bridge     string // the CNI bridge (at most 15 bytes)
	subnet     string
	cgroupRoot string // the kubelet's cgroupRoot, in every hierarchy
}

func namesFor(dir string) nodeNames {
	base := filepath.Base(dir)
	// Sweeping kills processes in, and removes, the cgroup root: it must
	// never be the machine's.
	if !strings.HasPrefix(base, nodeDirPrefix) || base == nodeDirPrefix {
		panic("node: " + dir + " is not a node's folder")
	}
	h := fnv32(base)
	return nodeNames{
		network:    base,
		bridge:     fmt.Sprintf("mcn%08x", h),
		subnet:     fmt.Sprintf("10.213.%d.0/24", h%256),
		cgroupRoot: "/" + base,
	}
}

func fnv32(s string) uint32 {
	h := uint32(2166136261)
	for i := 0; i < len(s); i++ {
		h = (h ^ uint32(s[i])) * 16777619
	}
	return h
}

func newNode(t *testing.T) *node {
	t.Helper()
	dir, err := os.MkdirTemp("", nodeDirPrefix)
	if err != nil {
		t.Fatal(err)
	}
	logDir, err := os.MkdirTemp("", logDirPrefix)
	if err != nil {
		t.Fatal(err)
	}
	if err := writeOwner(dir); err != nil {
		t.Fatal(err)
	}
	host, _ := os.Hostname()
	return &node{name: strings.ToLower(host), dir: dir, logDir: logDir, names: namesFor(dir)}
}

// socket is containerd's gRPC socket.
func (n *node) socket() string { return filepath.Join(n.dir, "containerd", "containerd.sock") }

// render fills in the template testdata/node/NAME and writes it to out.
func render(t *testing.T, name, out string, data any) string {
	t.Helper()
	tmpl, err := template.New(name).Option("missingkey=error").ParseFiles(filepath.Join("testdata", "node", name))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := tmpl.Execute(f, data); err != nil {
		t.Fatalf("rendering %s: %v", name, err)
	}
	return out
}

func (n *node) startContainerd(t *testing.T) {
	t.Helper()
	data := map[string]string{
		"Dir": n.dir, "Socket": n.socket(), "PauseImage": pauseImage,
		"Network": n.names.network, "Bridge": n.names.bridge, "Subnet": n.names.subnet,
	}
	// containerd reports the network not ready, and so the kubelet the node,
	// until a CNI configuration is there, even if every pod uses the host's.
	render(t, "cni.conflist", filepath.Join(n.dir, "cni", "net.d", "10-meshc.conflist"), data)
	conf := render(t, "containerd.toml", filepath.Join(n.dir, "containerd.toml"), data)
	p := n.start(t, "containerd", "containerd", "--config", conf)
	n.waitFor(t, "containerd to answer on "+n.socket(), containerdTimeout, []*proc{p}, func() (bool, string) {
		if _, err := os.Stat(n.socket()); err != nil {
			return false, "no socket yet"
		}
		out, err := n.ctr("version")
		return err == nil, string(out)
	})
	// A CRI plugin that failed to load leaves the kubelet with vague errors.
	out, err := n.ctr("plugins", "ls")
	if err != nil || !criLoaded(string(out)) {
		t.Fatalf("containerd's CRI plugin did not load (%v):\n%s\n%s", err, out, p.tail())
	}
}

func criLoaded(plugins string) bool {
	for _, line := range strings.Split(plugins, "\n") {
		f := strings.Fields(line)
		if len(f) >= 4 && f[0] == "io.containerd.grpc.v1" && f[1] == "cri" {
			return f[len(f)-1] == "ok"
		}
	}
	return false
}

// ctr runs containerd's ctr on the node's containerd, in the CRI namespace.
func (n *node) ctr(args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
	defer cancel()
	args = append([]string{"--address", n.socket(), "--namespace", criNamespace}, args...)
	return exec.CommandContext(ctx, "ctr", args...).CombinedOutput()
}

func (n *node) startControlPlane(t *testing.T, bins binaries) {
	t.Helper()
	etcdURL := fmt.Sprintf("http://127.0.0.1:%d", freePort(t))
	peerURL := fmt.Sprintf("http://127.0.0.1:%d", freePort(t))
	n.start(t, "etcd", bins.etcd, "--name", "node", "--data-dir", filepath.Join(n.dir, "etcd"),
		"--listen-client-urls", etcdURL, "--advertise-client-urls", etcdURL,
		"--listen-peer-urls", peerURL, "--initial-advertise-peer-urls", peerURL,
		"--initial-cluster", "node="+peerURL, "--unsafe-no-fsync", "--log-level", "warn")

	key := writeServiceAccountKey(t, n.dir)
	tokens := filepath.Join(n.dir, "tokens.csv")
	// One identity in system:masters serves the test and every component.
	if err := os.WriteFile(tokens, []byte(nodeToken+`,meshc-e2e,meshc-e2e,"system:masters"`+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	certs := filepath.Join(n.dir, "certs")
	port := freePort(t)
	api := n.start(t, "kube-apiserver", bins.apiserver, "--etcd-servers", etcdURL,
		"--bind-address", "127.0.0.1", "--advertise-address", "127.0.0.1", "--secure-port", fmt.Sprint(port),
		"--cert-dir", certs, "--token-auth-file", tokens, "--authorization-mode", "RBAC",
		"--service-account-issuer", "https://kubernetes.default.svc.cluster.local",
		"--service-account-key-file", key, "--service-account-signing-key-file", key,
		"--service-cluster-ip-range", "10.0.0.0/24", "--enable-priority-and-fairness=false",
		// The Node's host name maps to 127.0.0.1, where the kubelet listens;
		// its InternalIP is the machine's, where nothing does.
		"--kubelet-preferred-address-types", "Hostname,InternalIP")
	n.connect(t, fmt.Sprintf("https://127.0.0.1:%d", port))
	d := n.waitFor(t, "kube-apiserver to be ready", controlPlaneTimeout, []*proc{api}, n.apiReady)
	t.Logf("kube-apiserver ready in %s", d.Round(100*time.Millisecond))

	common := []string{"--kubeconfig", n.kubeconfig, "--authentication-kubeconfig", n.kubeconfig,
		"--authorization-kubeconfig", n.kubeconfig, "--bind-address", "127.0.0.1", "--leader-elect=false"}
	// The service-account key and root CA let it create the default
	// ServiceAccounts and the kube-root-ca.crt ConfigMaps pods mount.
	// Left to its default, the flex volume folder is made in /usr/libexec.
	n.start(t, "kube-controller-manager", bins.controllerManager, slices.Concat(common, []string{
		"--secure-port", fmt.Sprint(freePort(t)), "--service-account-private-key-file", key,
		"--root-ca-file", filepath.Join(certs, "apiserver.crt"), "--use-service-account-credentials=false",
		"--flex-volume-plugin-dir", filepath.Join(n.dir, "controller-manager", "volume-plugins")})...)
	n.start(t, "kube-scheduler", bins.scheduler, slices.Concat(common, []string{"--secure-port", fmt.Sprint(freePort(t))})...)
}

// connect makes the node's client and kubeconfig for the API server at host.
func (n *node) connect(t *testing.T, host string) {
	t.Helper()
	// The server's certificate is its own self-signed one, on loopback.
	n.config = &rest.Config{Host: host, BearerToken: nodeToken, TLSClientConfig: rest.TLSClientConfig{Insecure: true},
		QPS: 50, Burst: 100}
	c, err := clientset.NewForConfig(n.config)
	if err != nil {
		t.Fatal(err)
	}
	n.client = c
	kc := clientcmdapi.NewConfig()
	kc.Clusters["node"] = &clientcmdapi.Cluster{Server: host, InsecureSkipTLSVerify: true}
	kc.AuthInfos["admin"] = &clientcmdapi.AuthInfo{Token: nodeToken}
	kc.Contexts["node"] = &clientcmdapi.Context{Cluster: "node", AuthInfo: "admin"}
	kc.CurrentContext = "node"
	n.kubeconfig = filepath.Join(n.dir, "admin.kubeconfig")
	if err := clientcmd.WriteToFile(*kc, n.kubeconfig); err != nil {
		t.Fatal(err)
	}
}

func (n *node) apiReady() (bool, string) {
	ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
	defer cancel()
	body, err := n.client.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(ctx)
	if err != nil {
		return false, fmt.Sprintf("%v %s", err, body)
	}
	return true, ""
}

func (n *node) startKubelet(t *testing.T, bin string) {
	t.Helper()
	if err := makeCgroupRoot(n.names.cgroupRoot); err != nil {
		t.Fatalf("creating the kubelet's cgroup root: %v", err)
	}
	// The kubelet sets kernel tunables (vm.overcommit_memory, kernel.panic,
	// ...) to its liking; the teardown of the last node puts the machine's
	// values back.
	if err := saveSysctls(); err != nil {
		t.Fatal(err)
	}
	conf := render(t, "kubelet.yaml", filepath.Join(n.dir, "kubelet.yaml"), map[string]any{
		"Dir": n.dir, "Socket": n.socket(), "CgroupRoot": n.names.cgroupRoot,
		"Port": freePort(t), "HealthzPort": freePort(t),
	})
	// --cert-dir defaults to /var/lib/kubelet/pki, whatever --root-dir says.
	root := filepath.Join(n.dir, "kubelet")
	k := n.start(t, "kubelet", bin, "--config", conf, "--kubeconfig", n.kubeconfig, "--root-dir", root,
		"--cert-dir", filepath.Join(root, "pki"), "--hostname-override", n.name, "-v", "2")
	d := n.waitFor(t, "node "+n.name+" to be Ready and schedulable", nodeReadyTimeout, []*proc{k, n.proc("containerd")}, n.schedulable)
	t.Logf("kubelet: node Ready and schedulable %s after it started", d.Round(100*time.Millisecond))
}

// schedulable says whether the Node is Ready and rid of the taints that
// keep pods off a node that is not.
func (n *node) schedulable() (bool, string) {
	ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
	defer cancel()
	nd, err := n.client.CoreV1().Nodes().Get(ctx, n.name, metav1.GetOptions{})
	if err != nil {
		return false, err.Error()
	}
	for _, c := range nd.Status.Conditions {
		if c.Type == corev1.NodeReady && c.Status != corev1.ConditionTrue {
			return false, fmt.Sprintf("Ready=%s: %s %s", c.Status, c.Reason, c.Message)
		}
	}
	for _, taint := range nd.Spec.Taints {
		if taint.Effect == corev1.TaintEffectNoSchedule || taint.Effect == corev1.TaintEffectNoExecute {
			return false, "tainted " + taint.ToString()
		}
	}
	return len(nd.Status.Conditions) > 0, "no conditions yet"
}

// createNamespace creates a namespace and waits for its default
// ServiceAccount, without which the API server refuses pods.
func (n *node) createNamespace(t *testing.T, name string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
	defer cancel()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if _, err := n.client.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating namespace %s: %v", name, err)
	}
	n.waitFor(t, "the default ServiceAccount of "+name, controlPlaneTimeout, []*proc{n.proc("kube-controller-manager")}, func() (bool, string) {
		ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
		defer cancel()
		_, err := n.client.CoreV1().ServiceAccounts(name).Get(ctx, "default", metav1.GetOptions{})
		return err == nil, fmt.Sprint(err)
	})
	return name
}

// waitFor polls cond until it holds and returns how long that took. It fails
// the test when timeout passes first, with cond's last word and the end of
// the logs of blame, or as soon as any component exits, with its log.
func (n *node) waitFor(t *testing.T, what string, timeout time.Duration, blame []*proc, cond func() (bool, string)) time.Duration {
	t.Helper()
	begin := time.Now()
	for {
		if p := n.exited(); p != nil {
			t.Fatalf("%s exited (%v) while waiting for %s; %s", p.name, p.err, what, p.tail())
		}
		ok, last := cond()
		if ok {
			return time.Since(begin)
		}
		if time.Since(begin) > timeout {
			var logs strings.Builder
			for _, p := range blame {
				logs.WriteString(p.tail())
			}
			t.Fatalf("waited %s for %s (last: %s); %s", timeout, what, last, logs.String())
		}
		time.Sleep(pollInterval)
	}
}

func (n *node) exited() *proc {
	for _, p := range n.procs {
		if p.exited() {
			return p
		}
	}
	return nil
}

// proc returns the component called name; a test that asks for one the
// node does not run is wrong.
func (n *node) proc(name string) *proc {
	for _, p := range n.procs {
		if p.name == name {
			return p
		}
	}
	panic("node: no component " + name)
}

// logMemory logs the resident memory of the components and of everything
// in the node's cgroups (the pods).
func (n *node) logMemory(t *testing.T) {
	t.Helper()
	var parts []string
	total := 0
	for _, p := range n.procs {
		if kb := rssKB(p.cmd.Process.Pid); kb > 0 {
			parts = append(parts, fmt.Sprintf("%s %d MB", p.name, kb/1024))
			total += kb
		}
	}
	rest := 0
	for _, pid := range append(referencingPIDs(n.dir), cgroupPIDs(n.names.cgroupRoot)...) {
		if n.procPID(pid) == nil {
			rest += rssKB(pid)
		}
	}
	parts = append(parts, fmt.Sprintf("shims and pods %d MB", rest/1024))
	t.Logf("node memory (RSS): %s; total %d MB", strings.Join(parts, ", "), (total+rest)/1024)
}

func (n *node) procPID(pid int) *proc {
	for _, p := range n.procs {
		if p.cmd.Process.Pid == pid {
			return p
		}
	}
	return nil
}

func since(t time.Time) time.Duration { return time.Since(t).Round(100 * time.Millisecond) }
