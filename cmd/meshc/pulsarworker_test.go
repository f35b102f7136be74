package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"
	"github.com/apache/pulsar-client-go/pulsaradmin"
	"github.com/apache/pulsar-client-go/pulsaradmin/pkg/utils"

	"github.com/meshc/meshc/broker"
	"github.com/meshc/meshc/broker/worker"
	"github.com/meshc/meshc/internal/brokertest"
	"github.com/meshc/meshc/internal/testoauth"
	"github.com/meshc/meshc/internal/testpki"
)

// workerEnv is the embedded broker serving the Functions worker API, and
// the instance binaries built for it.
type workerEnv struct {
	dir, admin, url string
	meshrt, shoprt  string
	client          pulsar.Client
	topics          pulsaradmin.Client // the v2 API: topics and subscriptions
}

// startWorker runs meshc broker, whose Functions worker is on by default,
// as a process on 127.0.0.1 with its data in a folder of the test, and
// builds meshrt and the shop's instance binary. With opts, the broker runs
// in the test's process instead, with a worker of those options.
func startWorker(t *testing.T, opts *worker.Options) *workerEnv {
	t.Helper()
	bin := t.TempDir()
	e := &workerEnv{dir: t.TempDir(), meshrt: filepath.Join(bin, "meshrt"), shoprt: filepath.Join(bin, "shoprt")}
	for pkg, out := range map[string]string{"github.com/meshc/meshc/cmd/meshrt": e.meshrt, "github.com/meshc/meshc/examples/shop/cmd/shoprt": e.shoprt} {
		if msg, err := exec.Command("go", "build", "-o", out, pkg).CombinedOutput(); err != nil {
			t.Fatalf("building %s: %v\n%s", pkg, err, msg)
		}
	}
	if opts == nil {
		bp := startBrokerProcess(t, "--data", e.dir)
		e.admin, e.url = bp.admin, bp.url
	} else {
		opts.Dir, opts.MinRestartBackoff = e.dir, 100*time.Millisecond
		w, err := worker.New(*opts)
		if err != nil {
			t.Fatal(err)
		}
		b := brokertest.Start(t, broker.Config{AdminListen: "127.0.0.1:0", AdminRoutes: w.Routes()})
		if err := w.Start(b.URL(), b.AdminURL()); err != nil {
			t.Fatalf("the Functions worker did not start: %v", err)
		}
		t.Cleanup(func() { w.Close() })
		e.admin, e.url = b.AdminURL(), b.URL()
	}
	e.client = brokertest.Client(t, e.url)
	var err error
	if e.topics, err = pulsaradmin.NewClient(&pulsaradmin.Config{WebServiceURL: e.admin}); err != nil {
		t.Fatal(err)
	}
	return e
}

// meshc runs meshc with args against the worker and returns its stdout,
// failing the test if it fails.
func (e *workerEnv) meshc(t *testing.T, args ...string) string {
	t.Helper()
	out, errOut, code := e.run(args...)
	if code != 0 {
		t.Fatalf("meshc %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, out, errOut)
	}
	return out
}

func (e *workerEnv) run(args ...string) (stdout, stderr string, code int) {
	args = append(args, "--backend", "pulsar", "--admin-url", e.admin)
	var o, s bytes.Buffer
	code = Main(args, strings.NewReader(""), &o, &s)
	return o.String(), s.String(), code
}

// eventually polls cond until it holds, failing the test after two
// minutes with its last error.
func eventually(t *testing.T, what string, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 2 minutes: %v", what, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// instancePIDs are the process ids of the function's instances the
// worker runs from its directory: Pulsar's process runtime gives each its
// instance configuration on the command line.
func (e *workerEnv) instancePIDs(t *testing.T, name string) []string {
	t.Helper()
	procs, err := filepath.Glob("/proc/[0-9]*/cmdline")
	if err != nil {
		t.Fatal(err)
	}
	var pids []string
	for _, p := range procs {
		data, err := os.ReadFile(p)
		if err != nil {
			continue // ended meanwhile
		}
		args := strings.Split(string(data), "\x00")
		if strings.HasPrefix(args[0], e.dir) && strings.Contains(string(data), fmt.Sprintf(`"name":%q`, name)) {
			pids = append(pids, filepath.Base(filepath.Dir(p)))
		}
	}
	slices.Sort(pids)
	return pids
}

// read reads n messages of topic from its start, with a reader, which
// leaves no subscription behind.
func (e *workerEnv) read(t *testing.T, topic string, n int) []string {
	t.Helper()
	r, err := e.client.CreateReader(pulsar.ReaderOptions{Topic: topic, StartMessageID: pulsar.EarliestMessageID()})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var out []string
	for len(out) < n {
		msg, err := r.Next(ctx)
		if err != nil {
			t.Fatalf("reading %s: %v after %d messages: %q", topic, err, len(out), out)
		}
		out = append(out, string(msg.Payload()))
	}
	return out
}

// leftovers are the functions and durable subscriptions left in
// public/default.
func (e *workerEnv) leftovers(t *testing.T) []string {
	t.Helper()
	out, errOut, code := e.run("list", "--mesh", "")
	var left []string
	if code == 0 {
		left = append(left, "functions: "+out)
	} else if !strings.Contains(errOut, "holds no function that meshc deployed") {
		t.Fatalf("list: %s", errOut)
	}
	ns, _ := utils.GetNamespaceName("public/default")
	partitioned, plain, err := e.topics.Topics().List(*ns)
	if err != nil {
		t.Fatal(err)
	}
	for _, topic := range append(partitioned, plain...) {
		tn, err := utils.GetTopicName(topic)
		if err != nil {
			t.Fatal(err)
		}
		subs, err := e.topics.Subscriptions().List(*tn)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range subs {
			if !strings.HasPrefix(s, "reader-") { // the test's readers' own, which go with them
				left = append(left, topic+" "+s)
			}
		}
	}
	return left
}

// TestPulsarWorkerDeploy deploys examples/wordcount.mesh, then the shop's
// etl.mesh with its own Go functions, to the embedded broker's Functions
// worker with meshc deploy --backend pulsar, and drives them through the
// worker API as pulsar-admin would.
func TestPulsarWorkerDeploy(t *testing.T) {
	e := startWorker(t, nil)

	// --dry-run shows what would change and changes nothing.
	out := e.meshc(t, "deploy", "--dry-run", "--binary", e.meshrt, "../../examples/wordcount.mesh")
	if !strings.Contains(out, "+   count  function  create") || !strings.Contains(out, "4 create") {
		t.Errorf("deploy --dry-run:\n%s", out)
	}
	if left := e.leftovers(t); len(left) > 0 {
		t.Errorf("after deploy --dry-run: %q", left)
	}

	// wordcount: every instance runs, counts flow, trigger, querystate and
	// putstate go through the worker.
	out = e.meshc(t, "deploy", "--binary", e.meshrt, "../../examples/wordcount.mesh")
	for _, want := range []string{"+   split  function  create", "+   lines  source    create", "4 create", "deployed mesh wordcount: every instance runs",
		"split  function  2/2 running  created"} {
		if !strings.Contains(out, want) {
			t.Errorf("deploy output lacks %q:\n%s", want, out)
		}
	}
	e.read(t, "persistent://public/default/counts", 10)
	eventually(t, "querystate count the", func() error {
		out, errOut, code := e.run("querystate", "count", "the")
		var st struct{ NumberValue *int64 }
		if code != 0 || json.Unmarshal([]byte(out), &st) != nil || st.NumberValue == nil || *st.NumberValue < 1 {
			return fmt.Errorf("exit %d: %s%s", code, out, errOut)
		}
		return nil
	})
	if out := e.meshc(t, "trigger", "split", "--value", "hello world"); strings.TrimSpace(out) != "hello" {
		t.Errorf("trigger split: %q, want the first word it writes, hello", out)
	}
	e.meshc(t, "putstate", "count", "zebra", "41", "--counter")
	if out := e.meshc(t, "querystate", "count", "zebra"); !strings.Contains(out, `"numberValue": 41`) {
		t.Errorf("querystate after putstate: %s", out)
	}
	list := e.meshc(t, "list")
	if list != "lines  source    1\ncount  function  2\nsplit  function  2\nprint  sink      1\n" {
		t.Errorf("list:\n%s", list)
	}
	status := e.meshc(t, "status", "split")
	if strings.Count(status, "split  function") != 2 || strings.Contains(status, "false") {
		t.Errorf("status split: both instances should run:\n%s", status)
	}

	stats := e.meshc(t, "stats")
	for _, want := range []string{"split  2/2", "count  2/2", "lines  1/1"} {
		if !strings.Contains(stats, want) {
			t.Errorf("stats lacks %q:\n%s", want, stats)
		}
	}

	// A redeploy with one changed function restarts it alone.
	before := map[string][]string{}
	for _, name := range []string{"lines", "split", "count", "print"} {
		before[name] = e.instancePIDs(t, name)
	}
	src, err := os.ReadFile("../../examples/wordcount.mesh")
	if err != nil {
		t.Fatal(err)
	}
	changed := strings.Replace(string(src), "  replicas = param.replicas\n", "  replicas = param.replicas\n  log = split_log\n", 1)
	changed = strings.Replace(changed, "topic words string\n", "topic words string\ntopic split_log string\n", 1)
	file := filepath.Join(t.TempDir(), "wordcount.mesh")
	if err := os.WriteFile(file, []byte(changed), 0o644); err != nil {
		t.Fatal(err)
	}
	out = e.meshc(t, "deploy", "--binary", e.meshrt, file)
	for _, want := range []string{"+/- split  function  update     plan", "1 update, 3 unchanged", "updated function split"} {
		if !strings.Contains(out, want) {
			t.Errorf("redeploy output lacks %q:\n%s", want, out)
		}
	}
	// logs reads the function's log topic.
	if _, errOut, code := e.run("logs", "count"); code == 0 || !strings.Contains(errOut, "function count has no log topic") {
		t.Errorf("logs of a function without a log topic: exit %d, %s", code, errOut)
	}
	p, err := e.client.CreateProducer(pulsar.ProducerOptions{Topic: "persistent://public/default/split_log"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Send(context.Background(), &pulsar.ProducerMessage{Payload: []byte("a line split logged")}); err != nil {
		t.Fatal(err)
	}
	p.Close()
	if out := e.meshc(t, "logs", "split", "--pulsar-url", e.url); !strings.Contains(out, "a line split logged") {
		t.Errorf("logs split: %q", out)
	}
	for name, pids := range before {
		now := e.instancePIDs(t, name)
		if len(pids) == 0 || (name == "split") == slices.Equal(pids, now) {
			t.Errorf("%s: instances %v before the redeploy, %v after: only split's should be new", name, pids, now)
		}
	}

	// delete leaves no function and no subscription.
	if left := e.leftovers(t); !slices.ContainsFunc(left, func(s string) bool { return strings.Contains(s, " wordcount-count") }) {
		t.Fatalf("before delete, the check finds no subscription of count: %q", left)
	}
	if out := e.meshc(t, "delete", "--mesh", "wordcount"); !strings.Contains(out, "deleted the mesh") {
		t.Errorf("delete: %s", out)
	}
	if left := e.leftovers(t); len(left) > 0 {
		t.Errorf("after delete: %q", left)
	}

	// etl: the user's Go functions in their own instance binary.
	e.meshc(t, "deploy", "--binary", e.shoprt, "../../examples/etl.mesh")
	charges := e.read(t, "persistent://public/default/charges", 3)
	for _, id := range []string{"o-1001", "o-1004", "o-1007"} {
		if !strings.Contains(strings.Join(charges, "\n"), id) {
			t.Errorf("charges %q lack order %s", charges, id)
		}
	}
	// A redeploy without quarantine deletes it, and its subscription.
	src, err = os.ReadFile("../../examples/etl.mesh")
	if err != nil {
		t.Fatal(err)
	}
	without := strings.Replace(string(src), "sink quarantine(rejected) {\n  use = builtin.stdout\n}\n", "", 1)
	file = filepath.Join(t.TempDir(), "etl.mesh")
	if err := os.WriteFile(file, []byte(without), 0o644); err != nil {
		t.Fatal(err)
	}
	out = e.meshc(t, "deploy", "--binary", e.shoprt, file)
	for _, want := range []string{"-   quarantine  sink      delete", "1 delete, 5 unchanged", "deleted sink quarantine"} {
		if !strings.Contains(out, want) {
			t.Errorf("redeploy without quarantine lacks %q:\n%s", want, out)
		}
	}
	if left := e.leftovers(t); slices.ContainsFunc(left, func(s string) bool { return strings.Contains(s, "quarantine") }) {
		t.Errorf("after quarantine's removal: %q", left)
	}
	e.meshc(t, "delete", "--mesh", "etl")
	if left := e.leftovers(t); len(left) > 0 {
		t.Errorf("after delete: %q", left)
	}
}

// TestPulsarWorkerBadInput: a broker without a Functions worker, and a
// package over the worker's limit, are said with what to do; the partly
// applied deploy says where each component stands.
func TestPulsarWorkerBadInput(t *testing.T) {
	e := startWorker(t, &worker.Options{MaxPackageBytes: 1 << 20})
	_, errOut, code := e.run("deploy", "--binary", e.meshrt, "../../examples/wordcount.mesh")
	for _, want := range []string{"deploy stopped at function count: registering function count with package", "the package is too large for the worker",
		"--package-url", "state of each component:", "count  function  failed", "lines  source    not applied (create pending)"} {
		if code == 0 || !strings.Contains(errOut, want) {
			t.Errorf("deploy of a package over the limit: exit %d, stderr lacks %q:\n%s", code, want, errOut)
		}
	}

	if _, errOut, code := e.run("status", "--namespace", "nowhere"); code == 0 || !strings.Contains(errOut, "public/nowhere") || !strings.Contains(errOut, "check --tenant and --namespace") {
		t.Errorf("status of a namespace without a mesh: exit %d: %s", code, errOut)
	}

	// meshc broker with its worker off answers 503.
	off := startBrokerProcess(t, "--functions-worker=false")
	var o, s bytes.Buffer
	code = Main([]string{"status", "--backend", "pulsar", "--admin-url", off.admin}, strings.NewReader(""), &o, &s)
	if code == 0 || !strings.Contains(s.String(), "the Pulsar Functions worker is not running at "+off.admin+" (503: ") || !strings.Contains(s.String(), "--functions-worker") {
		t.Errorf("status on meshc broker without its worker: exit %d:\n%s", code, s.String())
	}

	// A broker that has no worker API at all answers 404.
	b := brokertest.Start(t, broker.Config{AdminListen: "127.0.0.1:0"})
	o.Reset()
	s.Reset()
	code = Main([]string{"deploy", "--backend", "pulsar", "--admin-url", b.AdminURL(), "--binary", e.meshrt, "../../examples/wordcount.mesh"}, strings.NewReader(""), &o, &s)
	if code == 0 || !strings.Contains(s.String(), "the Pulsar Functions worker is not running at "+b.AdminURL()+" (404 on admin/v3/functions") {
		t.Errorf("deploy to a broker without a worker: exit %d:\n%s", code, s.String())
	}
}

// TestPulsarWorkerSecured deploys a mesh whose pulsar block says to
// authenticate with a token to meshc broker with token authentication and
// authorization on: deploy, status and delete call the admin API with the
// token the flag gives, and a token of a role without a grant is said.
func TestPulsarWorkerSecured(t *testing.T) {
	secret, token := testpki.Tokens(t, "admin")
	stranger := signedToken(t, secret, "stranger")
	bp := startBrokerProcess(t, "--auth-token-secret-key", secret, "--superuser", "admin",
		"--functions-auth-plugin", "token", "--functions-auth-params", "file://"+token)
	meshrt := filepath.Join(t.TempDir(), "meshrt")
	if msg, err := exec.Command("go", "build", "-o", meshrt, "github.com/meshc/meshc/cmd/meshrt").CombinedOutput(); err != nil {
		t.Fatalf("building meshrt: %v\n%s", err, msg)
	}
	mesh := filepath.Join(t.TempDir(), "secured.mesh")
	src := fmt.Sprintf(`mesh secured {
  pulsar {
    url = %q
    admin_url = %q
    token = secret("pulsar/admin", "token")
  }
}
topic words string external
topic upper string external
function shout(words) -> upper { use = builtin.upper }
`, bp.url, bp.admin)
	if err := os.WriteFile(mesh, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) (string, string, int) {
		var o, s bytes.Buffer
		code := Main(args, strings.NewReader(""), &o, &s)
		return o.String(), s.String(), code
	}
	if _, errOut, code := run("deploy", "--backend", "pulsar", "--binary", meshrt, "--pulsar-token-file", stranger, mesh); code == 0 ||
		!strings.Contains(errOut, "the credentials are refused at "+bp.admin+" (403") || !strings.Contains(errOut, "role may manage functions") {
		t.Errorf("deploy with a role without a grant: exit %d:\n%s", code, errOut)
	}
	if out, errOut, code := run("deploy", "--backend", "pulsar", "--binary", meshrt, "--pulsar-token-file", token, mesh); code != 0 ||
		!strings.Contains(out, "every instance runs") {
		t.Fatalf("deploy with the token: exit %d:\n%s%s", code, out, errOut)
	}
	if out, errOut, code := run("status", "--backend", "pulsar", "--admin-url", bp.admin, "--pulsar-token-file", token); code != 0 || !strings.Contains(out, "shout  function  0         true") {
		t.Errorf("status with the token: exit %d:\n%s%s", code, out, errOut)
	}
	if _, errOut, code := run("status", "--backend", "pulsar", "--admin-url", bp.admin); code == 0 || !strings.Contains(errOut, "(401") {
		t.Errorf("status without a token: exit %d:\n%s", code, errOut)
	}
	if out, errOut, code := run("delete", "--backend", "pulsar", "--admin-url", bp.admin, "--pulsar-token-file", token); code != 0 {
		t.Errorf("delete with the token: exit %d:\n%s%s", code, out, errOut)
	}
}

// TestPulsarWorkerTLS deploys a mesh whose pulsar block says to trust a CA
// and authenticate with a client certificate to a broker that serves TLS
// only, its admin API over HTTPS, with the worker in the test's process:
// deploy reaches every instance running and delete leaves nothing, the
// CA, certificate and key from their flags.
func TestPulsarWorkerTLS(t *testing.T) {
	pki := testpki.New(t)
	cert, key := pki.Client(t, "admin")
	w, err := worker.New(worker.Options{Dir: t.TempDir(), MinRestartBackoff: 100 * time.Millisecond, TrustCertsFile: pki.CAFile,
		AuthPlugin: "tls", AuthParams: "tlsCertFile:" + cert + ",tlsKeyFile:" + key})
	if err != nil {
		t.Fatal(err)
	}
	b := brokertest.Start(t, broker.Config{TLSListen: "127.0.0.1:0", AdminTLSListen: "127.0.0.1:0", TLSCertFile: pki.CertFile, TLSKeyFile: pki.KeyFile,
		AuthenticationEnabled: true, AuthTLS: true, TLSTrustCertsFile: pki.CAFile, AuthorizationEnabled: true, SuperuserRoles: []string{"admin"},
		AdminRoutes: w.Routes()})
	if err := w.Start(b.TLSURL(), b.AdminTLSURL()); err != nil {
		t.Fatalf("the Functions worker did not start: %v", err)
	}
	t.Cleanup(func() { w.Close() })
	meshrt := filepath.Join(t.TempDir(), "meshrt")
	if msg, err := exec.Command("go", "build", "-o", meshrt, "github.com/meshc/meshc/cmd/meshrt").CombinedOutput(); err != nil {
		t.Fatalf("building meshrt: %v\n%s", err, msg)
	}
	mesh := filepath.Join(t.TempDir(), "secured.mesh")
	src := fmt.Sprintf(`mesh secured {
  pulsar {
    url = %q
    admin_url = %q
    trust_certs = secret("pulsar/ca", "ca.crt")
    client_cert { cert = secret("pulsar/client", "tls.crt"), key = secret("pulsar/client", "tls.key") }
  }
}
topic words string external
topic upper string external
function shout(words) -> upper { use = builtin.upper }
`, b.TLSURL(), b.AdminTLSURL())
	if err := os.WriteFile(mesh, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	creds := []string{"--pulsar-trust-certs", pki.CAFile, "--pulsar-tls-cert-file", cert, "--pulsar-tls-key-file", key}
	run := func(args ...string) (string, string, int) {
		var o, s bytes.Buffer
		code := Main(append(args, creds...), strings.NewReader(""), &o, &s)
		return o.String(), s.String(), code
	}
	if out, errOut, code := run("deploy", "--backend", "pulsar", "--binary", meshrt, mesh); code != 0 || !strings.Contains(out, "every instance runs") {
		t.Fatalf("deploy over TLS with a client certificate: exit %d:\n%s%s", code, out, errOut)
	}
	if out, errOut, code := run("delete", "--backend", "pulsar", "--admin-url", b.AdminTLSURL()); code != 0 {
		t.Errorf("delete: exit %d:\n%s%s", code, out, errOut)
	}
	if out, errOut, code := run("list", "--backend", "pulsar", "--admin-url", b.AdminTLSURL()); code == 0 || !strings.Contains(errOut, "holds no function that meshc deployed") {
		t.Errorf("list after delete: exit %d:\n%s%s", code, out, errOut)
	}
}

// TestPulsarWorkerOAuth2 deploys a mesh whose pulsar block names OAuth2
// client credentials: every admin call carries a token from the issuer,
// which the broker trusts (its instances use a token of their own).
func TestPulsarWorkerOAuth2(t *testing.T) {
	issuer := testoauth.Start(t, testoauth.Config{ClientID: "meshc", ClientSecret: "s3cret", Audience: "urn:pulsar:test", Role: "admin"})
	secret, token := testpki.Tokens(t, "admin")
	bp := startBrokerProcess(t, "--auth-token-public-key", issuer.PublicKeyFile, "--auth-token-secret-key", secret, "--superuser", "admin",
		"--functions-auth-plugin", "token", "--functions-auth-params", "file://"+token)
	meshrt := filepath.Join(t.TempDir(), "meshrt")
	if msg, err := exec.Command("go", "build", "-o", meshrt, "github.com/meshc/meshc/cmd/meshrt").CombinedOutput(); err != nil {
		t.Fatalf("building meshrt: %v\n%s", err, msg)
	}
	mesh := filepath.Join(t.TempDir(), "secured.mesh")
	src := fmt.Sprintf(`mesh secured {
  pulsar {
    url = %q
    admin_url = %q
    oauth2 { issuer_url = %q, audience = "urn:pulsar:test", credentials = secret("pulsar/oauth2", "credentials.json") }
  }
}
topic words string external
topic upper string external
function shout(words) -> upper { use = builtin.upper }
`, bp.url, bp.admin, issuer.URL)
	if err := os.WriteFile(mesh, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	creds := issuer.CredentialsFile(t, "s3cret")
	var o, s bytes.Buffer
	if code := Main([]string{"deploy", "--backend", "pulsar", "--binary", meshrt, "--pulsar-oauth2-credentials-file", creds, mesh}, strings.NewReader(""), &o, &s); code != 0 ||
		!strings.Contains(o.String(), "every instance runs") {
		t.Fatalf("deploy with OAuth2: exit %d:\n%s%s", code, o.String(), s.String())
	}
	o.Reset()
	s.Reset()
	if code := Main([]string{"delete", "--backend", "pulsar", "--admin-url", bp.admin, "--pulsar-oauth2-issuer-url", issuer.URL,
		"--pulsar-oauth2-audience", "urn:pulsar:test", "--pulsar-oauth2-credentials-file", creds}, strings.NewReader(""), &o, &s); code != 0 {
		t.Errorf("delete with OAuth2: exit %d:\n%s%s", code, o.String(), s.String())
	}
}
