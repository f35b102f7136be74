//go:build e2e

package kubernetes

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	sigsyaml "sigs.k8s.io/yaml"

	"github.com/meshc/meshc/backends"
)

// The e2e tests run a real kube-apiserver and etcd, built by .ci/kube.sh,
// whose paths these variables hold.
const (
	apiserverEnv = "MESHC_KUBE_APISERVER"
	etcdEnv      = "MESHC_ETCD"
	e2eNamespace = "meshc-e2e"
)

// TestAPIServerAccepts applies every manifest of every mesh, both
// flavours, to a real API server: server-side apply, dry run, strict field
// validation, the Function Mesh CRD installed first.
func TestAPIServerAccepts(t *testing.T) {
	k := startAPIServer(t)
	for _, crd := range crdFiles(t) {
		k.installCRD(t, crd)
	}
	k.apply(t, []byte(fmt.Sprintf("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: %s\n", e2eNamespace)), false)
	n := 0
	for _, file := range meshFiles(t) {
		for _, flavour := range []string{Plain, FunctionMesh} {
			for _, d := range documents(t, emitFile(t, file, flavour)) {
				if err := k.apply(t, d.data, true); err != nil {
					t.Errorf("%s %s %s: the API server refused it: %v\n%s", meshName(file), flavour, d.file, err, d.data)
				}
				n++
			}
		}
	}
	t.Logf("the API server accepted %d manifests", n)
}

// TestAPIServerRefuses shows the API server catching what only it checks,
// and what an emitter that did not quote strings would write.
func TestAPIServerRefuses(t *testing.T) {
	k := startAPIServer(t)
	k.apply(t, []byte(fmt.Sprintf("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: %s\n", e2eNamespace)), false)
	deployment := string(findDocument(t, emitFile(t, "../../examples/wordcount.mesh", Plain), "Deployment"))
	tests := []struct {
		name, from, to, want string
	}{
		{"selector not matching the template", `      app.kubernetes.io/name: "split"`, `      app.kubernetes.io/name: "other"`,
			"`selector` does not match template `labels`"},
		{"unquoted y read as a bool", `    app.kubernetes.io/managed-by: "meshc"`, `    app.kubernetes.io/managed-by: y`,
			"managed-by: expected string, got"},
		{"invalid container name", `name: "instance"`, `name: "Instance_1"`, "spec.template.spec.containers[0].name"},
		{"unknown field", `  replicas: 2`, `  replicas: 2` + "\n  replica: 2", ".spec.replica: field not declared in schema"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			broken := strings.Replace(deployment, tt.from, tt.to, 1)
			if broken == deployment {
				t.Fatalf("the Deployment has no %q to replace", tt.from)
			}
			err := k.apply(t, []byte(broken), true)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("apply error = %v, want one saying %q", err, tt.want)
			}
			t.Logf("refused: %v", err)
		})
	}
}

// TestAPIServerNamespaced applies, in the order emit writes them, the
// manifests of a mesh for a namespace with its Namespace object: the
// Namespace for real, then the rest, in it, as a dry run. A plan's
// ConfigMap, once there, keeps its data, but takes new labels (another
// meshc version) under the same name.
func TestAPIServerNamespaced(t *testing.T) {
	k := startAPIServer(t)
	for _, crd := range crdFiles(t) {
		k.installCRD(t, crd)
	}
	const mesh = "../../examples/wordcount.mesh"
	for _, flavour := range []string{Plain, FunctionMesh} {
		o := Options{Flavour: flavour, Namespace: e2eNamespace, CreateNamespace: true, Version: testVersion}
		files, err := emitWhole(loadPlan(t, mesh, flavour), o)
		if err != nil {
			t.Fatal(err)
		}
		for i, d := range documents(t, files) {
			if err := k.apply(t, d.data, i > 0); err != nil {
				t.Errorf("%s %s: the API server refused it: %v\n%s", flavour, d.file, err, d.data)
			}
		}
	}
	plan := string(findDocument(t, emitFile(t, mesh, Plain), "ConfigMap"))
	for _, tt := range []struct {
		name, from, to, want string
	}{
		{"as emitted", "", "", ""},
		{"another meshc version", testVersion, "v0.0.1-test", ""},
		{"other data under the same name", `"index": 0`, `"index": 1`, "immutable"},
	} {
		err := k.apply(t, []byte(strings.Replace(plan, tt.from, tt.to, 1)), false)
		if tt.want == "" && err != nil || tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)) {
			t.Errorf("%s: apply error = %v, want %q", tt.name, err, tt.want)
		}
	}
}

func findDocument(t *testing.T, files []backends.File, kind string) []byte {
	t.Helper()
	for _, d := range documents(t, files) {
		if bytes.Contains(d.data, []byte("\nkind: \""+kind+"\"\n")) {
			return d.data
		}
	}
	t.Fatalf("no %s emitted", kind)
	return nil
}

// kube is a running API server and a client of it.
type kube struct {
	dyn    dynamic.Interface
	mapper *restmapper.DeferredDiscoveryRESTMapper
	cfg    *rest.Config
}

// startAPIServer starts etcd and kube-apiserver on loopback ports; both
// stop when the test ends.
func startAPIServer(t *testing.T) *kube {
	t.Helper()
	apiserver, etcd := serverBinary(t, apiserverEnv), serverBinary(t, etcdEnv)
	dir := t.TempDir()
	etcdPort, peerPort, apiPort := freePort(t), freePort(t), freePort(t)
	etcdURL := fmt.Sprintf("http://127.0.0.1:%d", etcdPort)
	peerURL := fmt.Sprintf("http://127.0.0.1:%d", peerPort)
	start(t, dir, etcd, "--name", "e2e", "--data-dir", filepath.Join(dir, "etcd"),
		"--listen-client-urls", etcdURL, "--advertise-client-urls", etcdURL,
		"--listen-peer-urls", peerURL, "--initial-advertise-peer-urls", peerURL,
		"--initial-cluster", "e2e="+peerURL, "--unsafe-no-fsync", "--log-level", "error")

	token := "meshc-e2e-token"
	key := writeServiceAccountKey(t, dir)
	tokens := filepath.Join(dir, "tokens.csv")
	if err := os.WriteFile(tokens, []byte(token+`,meshc-e2e,meshc-e2e,"system:masters"`+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	certs := filepath.Join(dir, "certs")
	start(t, dir, apiserver, "--etcd-servers", etcdURL,
		"--bind-address", "127.0.0.1", "--advertise-address", "127.0.0.1", "--secure-port", fmt.Sprint(apiPort),
		"--cert-dir", certs, "--token-auth-file", tokens, "--authorization-mode", "RBAC",
		"--service-account-issuer", "https://kubernetes.default.svc.cluster.local",
		"--service-account-key-file", key, "--service-account-signing-key-file", key,
		"--service-cluster-ip-range", "10.0.0.0/24", "--enable-priority-and-fairness=false")

	host := fmt.Sprintf("https://127.0.0.1:%d", apiPort)
	waitReady(t, host, token, filepath.Join(dir, "apiserver.log"))
	// The server's certificate is its own self-signed one, on loopback.
	return kubeFor(t, &rest.Config{Host: host, BearerToken: token, TLSClientConfig: rest.TLSClientConfig{Insecure: true}})
}

// kubeFor is the tests' access to an API server with a token.
func kubeFor(t *testing.T, cfg *rest.Config) *kube {
	t.Helper()
	cfg = withClientRateLimit(cfg)
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	disc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &kube{dyn: dyn, mapper: restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(disc)), cfg: cfg}
}

// serverBinary returns the path in env var name, failing the test when it is
// unset or the file does not run.
func serverBinary(t *testing.T, name string) string {
	t.Helper()
	p := os.Getenv(name)
	if p == "" {
		t.Fatalf("$%s is not set: run the e2e tests with make e2e, or set it to the path .ci/kube.sh prints", name)
	}
	out, err := exec.Command(p, "--version").CombinedOutput()
	if err != nil {
		t.Fatalf("$%s=%s does not run: %v\n%s\n(rebuild it with .ci/kube.sh)", name, p, err, out)
	}
	return p
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// start runs a server with its output in DIR/NAME.log, and stops it when
// the test ends.
func start(t *testing.T, dir, bin string, args ...string) {
	t.Helper()
	log, err := os.Create(filepath.Join(dir, filepath.Base(bin)+".log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", bin, err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		log.Close()
	})
}

func writeServiceAccountKey(t *testing.T, dir string) string {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "sa.key")
	data := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)})
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// waitReady polls /readyz until the server says ok; a server that is not
// ready in two minutes fails the test with the end of its log.
func waitReady(t *testing.T, host, token, log string) {
	t.Helper()
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true},
	}}
	deadline := time.Now().Add(2 * time.Minute)
	begin := time.Now()
	var last string
	for time.Now().Before(deadline) {
		req, _ := http.NewRequest("GET", host+"/readyz", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := c.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				t.Logf("kube-apiserver ready in %s", time.Since(begin).Round(100*time.Millisecond))
				return
			}
			last = resp.Status
		} else {
			last = err.Error()
		}
		time.Sleep(250 * time.Millisecond)
	}
	data, _ := os.ReadFile(log)
	if len(data) > 4000 {
		data = data[len(data)-4000:]
	}
	t.Fatalf("kube-apiserver not ready after 2 minutes (last: %s); its log ends:\n%s", last, data)
}

// apply server-side applies one YAML document, as a dry run or for real.
func (k *kube) apply(t *testing.T, doc []byte, dryRun bool) error {
	t.Helper()
	var u unstructured.Unstructured
	if err := sigsyaml.Unmarshal(doc, &u.Object); err != nil {
		return err
	}
	gvk := u.GroupVersionKind()
	m, err := k.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil {
		return fmt.Errorf("no resource for %s: %w", gvk, err)
	}
	var r dynamic.ResourceInterface = k.dyn.Resource(m.Resource)
	if m.Scope.Name() == meta.RESTScopeNameNamespace {
		r = k.dyn.Resource(m.Resource).Namespace(e2eNamespace)
	}
	opts := metav1.PatchOptions{FieldManager: "meshc-e2e", FieldValidation: "Strict", Force: ptr(true)}
	if dryRun {
		opts.DryRun = []string{metav1.DryRunAll}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err = r.Patch(ctx, u.GetName(), types.ApplyYAMLPatchType, doc, opts)
	return err
}

// installCRD applies a CRD for real and waits until it is established and
// its kind is served.
func (k *kube) installCRD(t *testing.T, file string) {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if err := k.apply(t, data, false); err != nil {
		t.Fatalf("installing %s: %v", file, err)
	}
	var crd struct {
		Metadata struct{ Name string }
		Spec     struct {
			Group string
			Names struct{ Kind string }
		}
	}
	if err := sigsyaml.Unmarshal(data, &crd); err != nil {
		t.Fatal(err)
	}
	crds := k.dyn.Resource(schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"})
	deadline := time.Now().Add(time.Minute)
	for {
		u, err := crds.Get(context.Background(), crd.Metadata.Name, metav1.GetOptions{})
		if err == nil && established(u) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("CRD %s not established after a minute (%v)", crd.Metadata.Name, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	for {
		k.mapper.Reset()
		if _, err := k.mapper.RESTMapping(schema.GroupKind{Group: crd.Spec.Group, Kind: crd.Spec.Names.Kind}); err == nil {
			return
		} else if time.Now().After(deadline) {
			t.Fatalf("kind %s not served after a minute: %v", crd.Spec.Names.Kind, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func established(u *unstructured.Unstructured) bool {
	conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
	for _, c := range conds {
		if m, ok := c.(map[string]any); ok && m["type"] == "Established" && m["status"] == "True" {
			return true
		}
	}
	return false
}
