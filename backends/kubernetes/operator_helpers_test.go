//go:build e2e

package kubernetes

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// The StreamNative Function Mesh operator for the e2e tests, built from its
// source by .ci/fmoperator.sh, which prints these two variables.
const (
	operatorEnv     = "MESHC_FM_OPERATOR" // the manager binary
	operatorCRDsEnv = "MESHC_FM_CRDS"     // its config/crd/bases folder

	// operatorWebhookPort is where the operator's webhook server listens:
	// its main.go hard-codes 9443 (on every interface) when --cert-dir is
	// set, with no flag or variable to move it.
	operatorWebhookPort = 9443

	// skipDefaultingLabel on an object keeps the mutating webhook away from
	// it (an objectSelector), so a test can tell what the validating
	// webhook says alone and what the CRD schema's own defaults do.
	skipDefaultingLabel = "meshc.io/e2e-skip-defaulting"

	computeAPIVersion = "compute.functionmesh.io/v1alpha1"
)

// Timings: the manager starts serving its webhooks a few seconds after it
// starts, and the API server picks a new webhook configuration up within a
// second or so; the timeout leaves room for a loaded machine.
const (
	operatorReadyTimeout = 2 * time.Minute
	operatorPoll         = 250 * time.Millisecond
	operatorCallTimeout  = 30 * time.Second
	operatorLogTail      = 8000 // bytes of the manager's log shown on failure
	// certLifetime only has to outlast one test run.
	certLifetime = 24 * time.Hour
)

// operatorKinds are the kinds the operator has webhooks for (the
// kubebuilder markers in its pkg/webhook/*.go); FunctionMesh has none: its
// controller makes one Function, Source or Sink per member, and those go
// through the webhooks.
var operatorKinds = []string{"Function", "Source", "Sink"}

// operator is a running Function Mesh operator whose admission webhooks
// the test API server calls.
type operator struct {
	crds   string        // its CRD folder
	log    string        // the manager's output
	exited chan struct{} // closed when the manager exits
}

// startOperator installs the operator's CRDs in k, starts the operator
// with its webhooks on a self-signed certificate, registers them with the
// API server, and waits until both answer. It stops when the test ends.
func startOperator(t *testing.T, k *kube) *operator {
	t.Helper()
	bin, crds := operatorPaths(t)
	for _, f := range operatorCRDFiles(t, crds) {
		k.installCRD(t, f)
	}
	ns := fmt.Sprintf("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: %s\n", e2eNamespace)
	if err := k.apply(t, []byte(ns), false); err != nil {
		t.Fatalf("creating namespace %s: %v", e2eNamespace, err)
	}
	checkWebhookPortFree(t)

	dir := t.TempDir()
	certDir := filepath.Join(dir, "certs")
	ca := writeServingCert(t, certDir)
	kubeconfig := writeKubeconfig(t, k, dir)
	o := &operator{crds: crds, log: filepath.Join(dir, "manager.log"), exited: make(chan struct{})}
	o.start(t, bin, "--kubeconfig", kubeconfig, "--metrics-addr", "0", "--health-probe-addr", "0", "--cert-dir", certDir)
	for _, doc := range webhookConfigurations(ca) {
		if err := k.apply(t, doc, false); err != nil {
			t.Fatalf("registering the operator's webhooks: %v\n%s", err, doc)
		}
	}
	o.waitReady(t, k)
	return o
}

// operatorPaths reads the binary and CRD folder .ci/fmoperator.sh prints.
func operatorPaths(t *testing.T) (bin, crds string) {
	t.Helper()
	how := "build the operator with .ci/fmoperator.sh and run the tests as env $(.ci/kube.sh) $(.ci/fmoperator.sh) go test ... (make e2e does this)"
	bin, crds = os.Getenv(operatorEnv), os.Getenv(operatorCRDsEnv)
	if bin == "" || crds == "" {
		t.Fatalf("$%s or $%s is not set: %s", operatorEnv, operatorCRDsEnv, how)
	}
	if st, err := os.Stat(bin); err != nil || st.Mode()&0o111 == 0 {
		t.Fatalf("$%s=%s is not an executable file (%v): %s", operatorEnv, bin, err, how)
	}
	return bin, crds
}

func operatorCRDFiles(t *testing.T, dir string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no CRDs in $%s=%s (%v): it should be the operator source's config/crd/bases", operatorCRDsEnv, dir, err)
	}
	return files
}

// checkWebhookPortFree fails at once, rather than after a timeout, when
// something else holds the port the operator must listen on.
func checkWebhookPortFree(t *testing.T) {
	t.Helper()
	l, err := net.Listen("tcp", fmt.Sprintf(":%d", operatorWebhookPort))
	if err != nil {
		t.Fatalf("port %d is taken (%v): the operator's webhook server needs it (hard-coded in its main.go); stop what listens there, or another operator test still running",
			operatorWebhookPort, err)
	}
	l.Close()
}

// start runs the manager with its webhooks on, its output in o.log.
func (o *operator) start(t *testing.T, bin string, args ...string) {
	t.Helper()
	log, err := os.Create(o.log)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "ENABLE_WEBHOOKS=true")
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting the operator %s: %v", bin, err)
	}
	go func() {
		cmd.Wait()
		close(o.exited)
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-o.exited
		log.Close()
		if t.Failed() {
			t.Logf("the operator's log (%s) ends:\n%s", o.log, o.logTail())
		}
	})
}

func (o *operator) logTail() string {
	data, _ := os.ReadFile(o.log)
	if len(data) > operatorLogTail {
		data = data[len(data)-operatorLogTail:]
	}
	return string(data)
}

// waitReady waits until the API server calls both webhooks: a probe
// Function comes back defaulted by the mutating one, and a broken one is
// refused by the validating one. The API server picks webhook
// configurations up asynchronously, so the manager being up is not enough.
func (o *operator) waitReady(t *testing.T, k *kube) {
	t.Helper()
	begin := time.Now()
	good := probeFunction()
	o.waitFor(t, "the mutating webhook to default a Function", func() (bool, string) {
		got, err := k.dryRunApply(good)
		if err != nil {
			return false, err.Error()
		}
		cluster, _, _ := unstructured.NestedString(got.Object, "spec", "clusterName")
		return cluster != "", "spec.clusterName not set: the mutating webhook has not run"
	})
	bad := probeFunction()
	unstructured.SetNestedField(bad.Object, "", "spec", "golang", "go")
	o.waitFor(t, "the validating webhook to refuse a Function", func() (bool, string) {
		_, err := k.dryRunApply(bad)
		if err == nil {
			return false, "a Function with an empty golang.go was accepted: the validating webhook has not run"
		}
		return strings.Contains(err.Error(), "denied the request"), err.Error()
	})
	t.Logf("the operator's webhooks answer %s after it started", time.Since(begin).Round(100*time.Millisecond))
}

// waitFor polls cond until it holds, failing the test with the last reason
// and the operator's log on timeout or when the operator exits.
func (o *operator) waitFor(t *testing.T, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(operatorReadyTimeout)
	var last string
	for time.Now().Before(deadline) {
		var ok bool
		if ok, last = cond(); ok {
			return
		}
		select {
		case <-o.exited:
			t.Fatalf("the operator exited while waiting for %s (last: %s); see its log below", what, last)
		case <-time.After(operatorPoll):
		}
	}
	t.Fatalf("timed out after %s waiting for %s; last: %s", operatorReadyTimeout, what, last)
}

// probeFunction is the smallest Function the operator's webhooks accept.
func probeFunction() *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": computeAPIVersion,
		"kind":       "Function",
		"metadata":   map[string]any{"name": "meshc-e2e-probe"},
		"spec": map[string]any{
			"image":    "meshc.local/probe",
			"replicas": int64(1),
			"input":    map[string]any{"topics": []any{"persistent://public/default/probe-in"}},
			"output":   map[string]any{"topic": "persistent://public/default/probe-out"},
			"autoAck":  true,
			"resources": map[string]any{
				"requests": map[string]any{"memory": "1Mi"},
				"limits":   map[string]any{"memory": "1Mi"},
			},
			"golang": map[string]any{"go": "probe"},
			"pulsar": map[string]any{"pulsarConfig": "probe"},
		},
	}}
}

// dryRunApply server-side applies obj in the e2e namespace as a dry run,
// with strict field validation, and returns what the API server would
// store: after the CRD's defaults and every admission webhook.
func (k *kube) dryRunApply(obj *unstructured.Unstructured) (*unstructured.Unstructured, error) {
	gvk := obj.GroupVersionKind()
	m, err := k.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil {
		return nil, fmt.Errorf("no resource for %s: %w", gvk, err)
	}
	obj = obj.DeepCopy()
	obj.SetNamespace(e2eNamespace)
	data, err := json.Marshal(obj.Object)
	if err != nil {
		return nil, err
	}
	opts := metav1.PatchOptions{FieldManager: "meshc-e2e", FieldValidation: "Strict", Force: ptr(true), DryRun: []string{metav1.DryRunAll}}
	ctx, cancel := context.WithTimeout(context.Background(), operatorCallTimeout)
	defer cancel()
	return k.dyn.Resource(m.Resource).Namespace(e2eNamespace).Patch(ctx, obj.GetName(), types.ApplyPatchType, data, opts)
}

// writeKubeconfig gives the manager the tests' own access to the API
// server: the token, and no check of the server's self-signed certificate.
func writeKubeconfig(t *testing.T, k *kube, dir string) string {
	t.Helper()
	kc := clientcmdapi.NewConfig()
	kc.Clusters["e2e"] = &clientcmdapi.Cluster{Server: k.cfg.Host, InsecureSkipTLSVerify: true}
	kc.AuthInfos["e2e"] = &clientcmdapi.AuthInfo{Token: k.cfg.BearerToken}
	kc.Contexts["e2e"] = &clientcmdapi.Context{Cluster: "e2e", AuthInfo: "e2e"}
	kc.CurrentContext = "e2e"
	p := filepath.Join(dir, "kubeconfig")
	if err := clientcmd.WriteToFile(*kc, p); err != nil {
		t.Fatal(err)
	}
	return p
}

// writeServingCert writes tls.crt and tls.key, a certificate for
// 127.0.0.1 signed by a fresh CA, into dir, and returns the CA's
// certificate in PEM: the API server checks the webhook server with it.
func writeServingCert(t *testing.T, dir string) []byte {
	t.Helper()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	caKey := newKey(t)
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "meshc-e2e-webhook-ca"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(certLifetime),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatal(err)
	}
	key := newKey(t)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(certLifetime),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, DNSNames: []string{"localhost"},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	writePEM(t, filepath.Join(dir, "tls.crt"), "CERTIFICATE", der)
	writePEM(t, filepath.Join(dir, "tls.key"), "PRIVATE KEY", keyDER)
	// Check the pair loads as the webhook server will load it.
	if _, err := tls.LoadX509KeyPair(filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")); err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})
}

func newKey(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func writePEM(t *testing.T, path, typ string, der []byte) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}

// webhookConfigurations are the operator's config/webhook/manifests.yaml
// with the Service it would run behind replaced by its address on
// loopback, as JSON documents to apply.
func webhookConfigurations(ca []byte) [][]byte {
	var mutating, validating []any
	for _, kind := range operatorKinds {
		lower := strings.ToLower(kind)
		rules := []any{map[string]any{
			"apiGroups": []any{"compute.functionmesh.io"}, "apiVersions": []any{"v1alpha1"},
			"operations": []any{"CREATE", "UPDATE"}, "resources": []any{lower + "s"},
		}}
		hook := func(prefix, path string) map[string]any {
			return map[string]any{
				"name":                    prefix + lower + ".kb.io",
				"admissionReviewVersions": []any{"v1"},
				"clientConfig": map[string]any{
					"url":      fmt.Sprintf("https://127.0.0.1:%d/%s-compute-functionmesh-io-v1alpha1-%s", operatorWebhookPort, path, lower),
					"caBundle": ca,
				},
				"failurePolicy": "Fail",
				"sideEffects":   "None",
				"rules":         rules,
			}
		}
		m := hook("m", "mutate")
		m["objectSelector"] = map[string]any{"matchExpressions": []any{
			map[string]any{"key": skipDefaultingLabel, "operator": "DoesNotExist"},
		}}
		mutating = append(mutating, m)
		validating = append(validating, hook("v", "validate"))
	}
	var docs [][]byte
	for _, c := range []struct {
		kind  string
		hooks []any
	}{{"MutatingWebhookConfiguration", mutating}, {"ValidatingWebhookConfiguration", validating}} {
		data, _ := json.Marshal(map[string]any{
			"apiVersion": "admissionregistration.k8s.io/v1",
			"kind":       c.kind,
			"metadata":   map[string]any{"name": "meshc-e2e-function-mesh"},
			"webhooks":   c.hooks,
		})
		docs = append(docs, data)
	}
	return docs
}
