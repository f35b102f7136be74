//go:build e2e

package nomad_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/meshc/meshc/internal/brokertest"
	"github.com/meshc/meshc/internal/testpki"

	"github.com/apache/pulsar-client-go/pulsar"
	plog "github.com/apache/pulsar-client-go/pulsar/log"
	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/nomad/api"

	"github.com/meshc/meshc/backends/nomad"
	"github.com/meshc/meshc/broker"
	"github.com/meshc/meshc/planner/plan"
)

// The end-to-end tests run a real Nomad agent, whose binary .ci/nomad.sh
// builds: MESHC_NOMAD names it.

var quiet = slog.New(slog.DiscardHandler)

func nomadBinary(t *testing.T) string {
	t.Helper()
	bin := os.Getenv("MESHC_NOMAD")
	if bin == "" {
		t.Fatal("MESHC_NOMAD is not set: build Nomad with .ci/nomad.sh and set MESHC_NOMAD to the path it prints (make e2e does both)")
	}
	out, err := exec.Command(bin, "version").CombinedOutput()
	if err != nil {
		t.Fatalf("MESHC_NOMAD=%s does not run: %v\n%s", bin, err, out)
	}
	t.Logf("%s", bytes.TrimSpace(out))
	return bin
}

// TestHCLMatchesJSON: Nomad's own parser reads each golden HCL file into
// the job of the JSON file beside it.
func TestHCLMatchesJSON(t *testing.T) {
	bin := nomadBinary(t)
	files, _ := filepath.Glob("testdata/golden/*/*.nomad.hcl")
	if len(files) == 0 {
		t.Fatal("no golden HCL files")
	}
	for _, hcl := range files {
		out, err := exec.Command(bin, "job", "run", "-output", hcl).Output()
		if err != nil {
			t.Fatalf("nomad job run -output %s: %v\n%s", hcl, err, stderr(err))
		}
		fromHCL := readJob(t, out)
		data, err := os.ReadFile(strings.TrimSuffix(hcl, ".hcl") + ".json")
		if err != nil {
			t.Fatal(err)
		}
		fromJSON := readJob(t, data)
		fromHCL.Canonicalize()
		fromJSON.Canonicalize()
		if diff := cmp.Diff(fromJSON, fromHCL); diff != "" {
			t.Errorf("%s: the HCL parses into another job than the JSON (-json +hcl):\n%s", hcl, diff)
		}
	}
}

func readJob(t *testing.T, data []byte) *api.Job {
	t.Helper()
	var w struct{ Job *api.Job }
	if err := json.Unmarshal(data, &w); err != nil || w.Job == nil {
		t.Fatalf("reading a job: %v\n%s", err, data)
	}
	return w.Job
}

func stderr(err error) string {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return string(ee.Stderr)
	}
	return ""
}

// agent is a Nomad agent in dev mode on loopback, with its data in dir.
type agent struct {
	cmd     *exec.Cmd
	dataDir string
	addr    string
	log     string
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

// startAgent starts `nomad agent -dev` and waits until its node is ready
// to run raw_exec tasks. The cloud fingerprinters are deny-listed (one of
// them crashes the agent when AWS_CA_BUNDLE is set), and the exec driver's
// chroot holds only the users (the tasks run as nobody) and the folders
// given: Nomad's default copies GBs into every task. The binaries are
// static, so they need no more.
func startAgent(t *testing.T, bin string, chroot ...string) *agent {
	t.Helper()
	dir := t.TempDir()
	a := &agent{dataDir: filepath.Join(dir, "data"), log: filepath.Join(dir, "agent.log")}
	httpPort := freePort(t)
	a.addr = fmt.Sprintf("http://127.0.0.1:%d", httpPort)
	config := fmt.Sprintf(`data_dir = %q
ports {
  http = %d
  rpc  = %d
  serf = %d
}
client {
  options = {
    "fingerprint.denylist" = "env_aws,env_gce,env_azure,env_digitalocean"
  }
  chroot_env = {
    "/etc/passwd" = "/etc/passwd"
    "/etc/group"  = "/etc/group"%s
  }
}
plugin "raw_exec" {
  config {
    enabled = true
  }
}
`, a.dataDir, httpPort, freePort(t), freePort(t), chrootLines(chroot))
	cfg := filepath.Join(dir, "agent.hcl")
	if err := os.WriteFile(cfg, []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	logf, err := os.Create(a.log)
	if err != nil {
		t.Fatal(err)
	}
	a.cmd = exec.Command(bin, "agent", "-dev", "-bind", "127.0.0.1", "-config", cfg)
	a.cmd.Stdout, a.cmd.Stderr = logf, logf
	if err := a.cmd.Start(); err != nil {
		t.Fatalf("starting the Nomad agent: %v", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- a.cmd.Wait(); logf.Close() }()
	t.Cleanup(func() { a.stop(t, exited) })

	cl, err := nomad.Connect(a.addr)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(90 * time.Second)
	for {
		select {
		case err := <-exited:
			exited <- err
			t.Fatalf("the Nomad agent exited at start: %v\n%s", err, a.tail())
		default:
		}
		if nodes, _, err := cl.API().Nodes().List(nil); err == nil && len(nodes) == 1 && nodes[0].Status == "ready" {
			if d := nodes[0].Drivers["raw_exec"]; d != nil && d.Healthy && keyringReady(cl) {
				return a
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the Nomad agent at %s has no ready node with raw_exec and keyring after 90s\n%s", a.addr, a.tail())
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// keyringReady tells whether the agent can store variables: its leader
// initialises the keyring a moment after the node is ready, and a variable
// written before that fails with "keyring has not been initialized yet".
func keyringReady(cl *nomad.Cluster) bool {
	probe := &api.Variable{Path: "meshc/e2e/ready", Items: api.VariableItems{"ok": "1"}}
	if _, _, err := cl.API().Variables().Create(probe, nil); err != nil {
		return false
	}
	_, err := cl.API().Variables().Delete(probe.Path, nil)
	return err == nil
}

// chrootLines adds pairs of chroot_env entries: host folder, then where
// tasks see it.
func chrootLines(pairs []string) string {
	var b strings.Builder
	for i := 0; i+1 < len(pairs); i += 2 {
		fmt.Fprintf(&b, "\n    %q = %q", pairs[i], pairs[i+1])
	}
	return b.String()
}

// stop interrupts the agent, which then stops its plugins, and checks it
// left no mounts behind.
func (a *agent) stop(t *testing.T, exited chan error) {
	_ = a.cmd.Process.Signal(os.Interrupt)
	select {
	case <-exited:
	case <-time.After(60 * time.Second):
		_ = a.cmd.Process.Kill()
		<-exited
		t.Errorf("the Nomad agent did not stop within 60s of an interrupt\n%s", a.tail())
	}
	if mounts, err := os.ReadFile("/proc/self/mounts"); err == nil && bytes.Contains(mounts, []byte(a.dataDir)) {
		t.Errorf("mounts under %s remain after the agent stopped:\n%s", a.dataDir, grepLines(mounts, a.dataDir))
	}
	if t.Failed() {
		t.Logf("agent log:\n%s", a.tail())
	}
}

func (a *agent) tail() string {
	data, _ := os.ReadFile(a.log)
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	return strings.Join(lines[max(0, len(lines)-40):], "\n")
}

func grepLines(data []byte, s string) string {
	var out []string
	for _, l := range strings.Split(string(data), "\n") {
		if strings.Contains(l, s) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// buildBinaries builds meshc and meshrt, static, into a temporary folder.
func buildBinaries(t *testing.T) (meshc, meshrt string) {
	t.Helper()
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o755); err != nil { // the exec driver's tasks run as nobody
		t.Fatal(err)
	}
	cmd := exec.Command("go", "build", "-o", dir+"/", "../../cmd/meshc", "../../cmd/meshrt")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return filepath.Join(dir, "meshc"), filepath.Join(dir, "meshrt")
}

func startBroker(t *testing.T) *broker.Broker { return brokertest.Start(t, broker.Config{}) }

// meshc runs the meshc binary and fails the test unless it succeeds.
func meshc(t *testing.T, bin string, args ...string) string {
	t.Helper()
	out, err := exec.Command(bin, args...).CombinedOutput()
	t.Logf("meshc %s:\n%s", strings.Join(args, " "), out)
	if err != nil {
		t.Fatalf("meshc %s: %v", strings.Join(args, " "), err)
	}
	return string(out)
}

// TestDeployOnNomad deploys a mesh on a real agent with raw_exec
// instances, reads its output, rescales it, stops, starts and restarts a
// function, and deletes it.
func TestDeployOnNomad(t *testing.T) {
	bin := nomadBinary(t)
	meshcBin, meshrt := buildBinaries(t)
	a := startAgent(t, bin)
	b := startBroker(t)
	cl, err := nomad.Connect(a.addr)
	if err != nil {
		t.Fatal(err)
	}
	cl.Poll = 250 * time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()

	for _, f := range []string{"testdata/golden/orders-docker/orders.nomad.json", "testdata/golden/wordcount-raw_exec/wordcount.nomad.json"} {
		if out, err := exec.Command(bin, "job", "validate", "-address", a.addr, "-json", f).CombinedOutput(); err != nil {
			t.Errorf("nomad job validate -json %s: %v\n%s", f, err, out)
		}
	}

	secret := &api.Variable{Path: "nomad/jobs/e2e", Items: api.VariableItems{"token": "s3cret \"quoted\"\nline"}}
	if _, _, err := cl.API().Variables().Create(secret, nil); err != nil {
		t.Fatalf("creating the Nomad variable: %v", err)
	}

	deploy := []string{"deploy", "--backend", "nomad", "--addr", a.addr, "--binary", meshrt, "--pulsar-url", b.URL(), "testdata/e2e.mesh"}
	out := meshc(t, meshcBin, deploy...)
	if !strings.Contains(out, "deployed mesh e2e") {
		t.Fatalf("deploy did not report success")
	}
	before := running(ctx, t, cl, map[string]int{"lines": 1, "split": 2, "count": 1, "print": 1})
	checkFiles(t, a, before, "split", `MESHC_SECRET_TOKEN="s3cret \"quoted\"\nline"`)
	checkSecretEnv(t, meshrt, before, "split", "MESHC_SECRET_TOKEN="+secret.Items["token"])
	counts := readCounts(ctx, t, b.URL(), 5)
	t.Logf("counts on the sink topic: %v", counts)

	// stats reads each allocation's metrics; querystate reads the state
	// through Pulsar alone, as for a mesh on any backend.
	stats := meshc(t, meshcBin, "stats", "--backend", "nomad", "--addr", a.addr, "--mesh", "e2e")
	if !regexp.MustCompile(`(?m)^split +2/2 +[1-9][0-9]* +[1-9]`).MatchString(stats) || !regexp.MustCompile(`(?m)^count +1/1 `).MatchString(stats) {
		t.Errorf("stats on Nomad:\n%s", stats)
	}
	state := meshc(t, meshcBin, "querystate", "--pulsar-url", b.URL(), "--plan", "testdata/e2e.mesh", "count", "the")
	if !regexp.MustCompile(`"numberValue": [1-9]`).MatchString(state) {
		t.Errorf("querystate through Pulsar: %s", state)
	}

	// A new replica count adds an instance and restarts no other: the
	// others move to the new job version in place.
	out = meshc(t, meshcBin, append(deploy, "-p", "replicas=3")...)
	if !strings.Contains(out, `+/- Task Group: "split" (1 create, 2 in-place update)`) || !strings.Contains(out, `+/- Count: "2" => "3"`) {
		t.Errorf("the plan does not show one instance added to split")
	}
	after := running(ctx, t, cl, map[string]int{"lines": 1, "split": 3, "count": 1, "print": 1})
	for id, group := range before {
		if after[id] != group {
			t.Errorf("instance %s of %s was replaced by a change of split's replicas", id, group)
		}
		a, _, err := cl.API().Allocations().Info(id, nil)
		if err != nil {
			t.Fatal(err)
		}
		if s := a.TaskStates[group]; s == nil || s.Restarts > 0 {
			t.Errorf("instance %s of %s restarted on a change of split's replicas: %+v", id, group, s)
		}
	}
	readCounts(ctx, t, b.URL(), 1)

	// The same mesh again changes nothing; a dry run shows and does not do.
	out = meshc(t, meshcBin, append(deploy, "-p", "replicas=3")...)
	if !strings.Contains(out, "no changes") || !strings.Contains(out, "deployed mesh e2e") {
		t.Errorf("deploying the same mesh again does not say it changes nothing")
	}
	out = meshc(t, meshcBin, append(deploy, "-p", "replicas=4", "--dry-run")...)
	if !strings.Contains(out, `+/- Count: "3" => "4"`) || strings.Contains(out, "registered") {
		t.Errorf("the dry run does not show the plan only")
	}
	running(ctx, t, cl, map[string]int{"lines": 1, "split": 3, "count": 1, "print": 1})

	// One function stops and starts; the others run on.
	if err := cl.Stop(ctx, "e2e", "split"); err != nil {
		t.Fatal(err)
	}
	running(ctx, t, cl, map[string]int{"lines": 1, "split": 0, "count": 1, "print": 1})
	if err := cl.Start(ctx, "e2e", "split"); err != nil {
		t.Fatal(err)
	}
	running(ctx, t, cl, map[string]int{"lines": 1, "split": 3, "count": 1, "print": 1})
	if err := cl.Restart(ctx, "e2e", "count"); err != nil {
		t.Fatal(err)
	}

	// The whole mesh stops and starts again, through the commands.
	meshc(t, meshcBin, "stop", "--backend", "nomad", "--addr", a.addr)
	running(ctx, t, cl, map[string]int{"lines": 0, "split": 0, "count": 0, "print": 0})
	meshc(t, meshcBin, "start", "--backend", "nomad", "--addr", a.addr)
	running(ctx, t, cl, map[string]int{"lines": 1, "split": 3, "count": 1, "print": 1})
	status := meshc(t, meshcBin, "status", "--backend", "nomad", "--addr", a.addr, "--mesh", "e2e")
	if !strings.Contains(status, "split") || !strings.Contains(status, "job version") {
		t.Errorf("status does not show the mesh")
	}

	// Delete stops everything and removes the job.
	all := allAllocs(t, cl)
	meshc(t, meshcBin, "delete", "--backend", "nomad", "--addr", a.addr, "--mesh", "e2e")
	if _, _, err := cl.API().Jobs().Info("e2e", nil); err == nil {
		t.Errorf("job e2e is still there after delete")
	}
	if procs := processesOf(meshrt); len(procs) > 0 {
		t.Errorf("instances still run after delete: %v", procs)
	}
	awaitCleaned(t, cl, a, all)
}

// TestSecuredOnNomad deploys a mesh whose instances reach a broker that
// serves TLS only and requires a token: the mesh's pulsar block names the
// CA and the token in the job's Nomad Variable, which templates render into
// each task's secrets folder; counts arrive, and neither value is in the
// job.
func TestSecuredOnNomad(t *testing.T) {
	bin := nomadBinary(t)
	meshcBin, meshrt := buildBinaries(t)
	a := startAgent(t, bin)
	pki := testpki.New(t)
	secret, token := testpki.Tokens(t, "e2e")
	b := brokertest.Start(t, broker.Config{TLSListen: "127.0.0.1:0", TLSCertFile: pki.CertFile, TLSKeyFile: pki.KeyFile,
		AuthenticationEnabled: true, AuthTokenSecretKeyFile: secret})
	cl, err := nomad.Connect(a.addr)
	if err != nil {
		t.Fatal(err)
	}
	cl.Poll = 250 * time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	ca, tok := readFile(t, pki.CAFile), readFile(t, token)
	v := &api.Variable{Path: "nomad/jobs/e2e", Items: api.VariableItems{"pulsar_ca": ca, "pulsar_token": tok}}
	if _, _, err := cl.API().Variables().Create(v, nil); err != nil {
		t.Fatalf("creating the Nomad variable: %v", err)
	}
	out := meshc(t, meshcBin, "deploy", "--backend", "nomad", "--addr", a.addr, "--binary", meshrt, "--pulsar-url", b.TLSURL(), "testdata/e2e-secured.mesh")
	if strings.Contains(out, strings.TrimSpace(tok)) {
		t.Errorf("deploy printed the token")
	}
	running(ctx, t, cl, map[string]int{"lines": 1, "split": 1, "count": 1, "print": 1})
	job, _, err := cl.API().Jobs().Info("e2e", nil)
	if err != nil {
		t.Fatal(err)
	}
	if data, _ := json.Marshal(job); strings.Contains(string(data), strings.TrimSpace(tok)) {
		t.Errorf("the job holds the token")
	}
	counts := readCountsWith(ctx, t, pulsar.ClientOptions{URL: b.TLSURL(), TLSTrustCertsFilePath: pki.CAFile,
		Authentication: pulsar.NewAuthenticationTokenFromFile(token)}, 5)
	t.Logf("counts on the sink topic, through TLS and a token: %v", counts)
	all := allAllocs(t, cl)
	meshc(t, meshcBin, "delete", "--backend", "nomad", "--addr", a.addr, "--mesh", "e2e")
	awaitCleaned(t, cl, a, all)
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// TestExecDriver runs the mesh with the exec driver: the instance binary
// comes into each task's chroot through the client's chroot_env, and then
// as an artifact.
func TestExecDriver(t *testing.T) {
	bin := nomadBinary(t)
	meshcBin, meshrt := buildBinaries(t)
	a := startAgent(t, bin, filepath.Dir(meshrt), "/opt/meshc")
	b := startBroker(t)
	cl, err := nomad.Connect(a.addr)
	if err != nil {
		t.Fatal(err)
	}
	cl.Poll = 250 * time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	secret := &api.Variable{Path: "nomad/jobs/e2e", Items: api.VariableItems{"token": "t"}}
	if _, _, err := cl.API().Variables().Create(secret, nil); err != nil {
		t.Fatalf("creating the Nomad variable: %v", err)
	}
	meshc(t, meshcBin, "deploy", "--backend", "nomad", "--addr", a.addr, "--driver", "exec", "--binary", "/opt/meshc/meshrt",
		"--pulsar-url", b.URL(), "-p", "replicas=1", "testdata/e2e.mesh")
	first := running(ctx, t, cl, map[string]int{"lines": 1, "split": 1, "count": 1, "print": 1})
	readCounts(ctx, t, b.URL(), 3)

	// The binary may also come as an artifact, from a server on loopback.
	srv := httptest.NewServer(http.FileServer(http.Dir(filepath.Dir(meshrt))))
	defer srv.Close()
	out := meshc(t, meshcBin, "deploy", "--backend", "nomad", "--addr", a.addr, "--driver", "exec", "--artifact", srv.URL+"/meshrt",
		"--pulsar-url", b.URL(), "-p", "replicas=1", "testdata/e2e.mesh")
	if !strings.Contains(out, `+ Artifact {`) {
		t.Errorf("the plan does not show the artifact added")
	}
	allocs := running(ctx, t, cl, map[string]int{"lines": 1, "split": 1, "count": 1, "print": 1})
	for id := range allocs {
		if _, ok := first[id]; ok {
			t.Errorf("allocation %s was kept though its task changed", id)
		}
	}
	maps.Copy(allocs, first)
	meshc(t, meshcBin, "delete", "--backend", "nomad", "--addr", a.addr)
	if procs := processesOf(meshrt); len(procs) > 0 {
		t.Errorf("instances still run after delete: %v", procs)
	}
	ids := make([]string, 0, len(allocs))
	for id := range allocs {
		ids = append(ids, id)
	}
	awaitCleaned(t, cl, a, ids)
}

// TestDeployReportsFailures: deploy says why a mesh does not run, from
// the scheduler's placement failures and the instances' task events.
func TestDeployReportsFailures(t *testing.T) {
	bin := nomadBinary(t)
	meshcBin, _ := buildBinaries(t)
	a := startAgent(t, bin)
	b := startBroker(t)
	cl, err := nomad.Connect(a.addr)
	if err != nil {
		t.Fatal(err)
	}
	deploy := func(args ...string) string {
		t.Helper()
		args = append([]string{"deploy", "--backend", "nomad", "--addr", a.addr, "--pulsar-url", b.URL(), "--timeout", "2m"}, args...)
		out, err := exec.Command(meshcBin, append(args, "testdata/e2e.mesh")...).CombinedOutput()
		t.Logf("meshc %s:\n%s", strings.Join(args, " "), out)
		if err == nil {
			t.Fatalf("meshc deploy succeeded")
		}
		return string(out)
	}

	out := deploy("--driver", "docker", "--image", "meshc/meshrt:1")
	for _, want := range []string{"cannot place split: 1 of 1 nodes evaluated; 1 filtered by missing drivers", "cannot place every instance"} {
		if !strings.Contains(out, want) {
			t.Errorf("deploy on a node without docker does not say %q", want)
		}
	}
	out = deploy("--binary", "/nonexistent/meshrt")
	for _, want := range []string{"has unhealthy instances", "Driver Failure", "/nonexistent/meshrt"} {
		if !strings.Contains(out, want) {
			t.Errorf("deploy of a binary that is not there does not say %q", want)
		}
	}
	all := allAllocs(t, cl)
	meshc(t, meshcBin, "delete", "--backend", "nomad", "--addr", a.addr)
	awaitCleaned(t, cl, a, all)
}

// running waits until each group has its count of healthy running
// instances and no others, and returns the running allocations' groups by
// allocation ID.
func running(ctx context.Context, t *testing.T, cl *nomad.Cluster, want map[string]int) map[string]string {
	t.Helper()
	var last string
	for {
		_, groups, err := cl.Groups(ctx, "e2e")
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]int{}
		ok := true
		for _, g := range groups {
			got[g.Name] = g.Healthy
			ok = ok && g.Running == want[g.Name] && g.Healthy == want[g.Name] && g.Desired == want[g.Name]
		}
		last = fmt.Sprint(got)
		if ok {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("healthy instances: %s, want %v", last, want)
		case <-time.After(250 * time.Millisecond):
		}
	}
	allocs, _, err := cl.API().Jobs().Allocations("e2e", false, nil)
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]string{}
	for _, a := range allocs {
		if a.ClientStatus == api.AllocClientStatusRunning && a.DesiredStatus == api.AllocDesiredStatusRun {
			ids[a.ID] = a.TaskGroup
		}
	}
	return ids
}

// checkFiles reads what the templates rendered into a group's task
// folders: the instance plan with the allocation's index, and the secrets.
func checkFiles(t *testing.T, a *agent, allocs map[string]string, group, secretLine string) {
	t.Helper()
	indexes := map[int]bool{}
	for id, g := range allocs {
		if g != group {
			continue
		}
		taskDir := filepath.Join(a.dataDir, "alloc", id, group)
		data, err := os.ReadFile(filepath.Join(taskDir, "local", "instance.json"))
		if err != nil {
			t.Fatal(err)
		}
		in, err := plan.DecodeInstance(data)
		if err != nil {
			t.Fatalf("the rendered instance plan: %v\n%s", err, data)
		}
		if in.Component.Name != group || in.Mesh.Name != "e2e" {
			t.Errorf("instance plan of %s/%s: %+v", in.Mesh.Name, in.Component.Name, in)
		}
		indexes[in.Index] = true
		env, err := os.ReadFile(filepath.Join(taskDir, "secrets", "meshc.env"))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(env), secretLine) {
			t.Errorf("secrets/meshc.env is %q, want a line %s", env, secretLine)
		}
	}
	if len(indexes) != 2 || !indexes[0] || !indexes[1] {
		t.Errorf("instance indexes of %s: %v, want 0 and 1", group, indexes)
	}
}

// checkSecretEnv checks that the instances of group have the secret in
// their environment, decoded from the file Nomad rendered.
func checkSecretEnv(t *testing.T, meshrt string, allocs map[string]string, group, want string) {
	t.Helper()
	found := 0
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, d := range dirs {
		if exe, err := os.Readlink(d + "/exe"); err != nil || exe != meshrt {
			continue
		}
		environ, err := os.ReadFile(d + "/environ")
		if err != nil {
			continue
		}
		vars := strings.Split(string(environ), "\x00")
		for id, g := range allocs {
			if g == group && slices.Contains(vars, "NOMAD_ALLOC_ID="+id) {
				found++
				if !slices.Contains(vars, want) {
					t.Errorf("instance %s has no %q in its environment", id, want)
				}
			}
		}
	}
	if found != 2 {
		t.Errorf("found %d processes of %s, want 2", found, group)
	}
}

// readCounts reads n messages from the sink's input topic, from its start.
func readCounts(ctx context.Context, t *testing.T, url string, n int) []string {
	t.Helper()
	return readCountsWith(ctx, t, pulsar.ClientOptions{URL: url}, n)
}

// readCountsWith reads n counts with a client of opts.
func readCountsWith(ctx context.Context, t *testing.T, opts pulsar.ClientOptions, n int) []string {
	t.Helper()
	opts.Logger = plog.NewLoggerWithSlog(quiet)
	c, err := pulsar.NewClient(opts)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	cons, err := c.Subscribe(pulsar.ConsumerOptions{
		Topic: "persistent://public/default/counts", SubscriptionName: fmt.Sprintf("e2e-check-%d", time.Now().UnixNano()),
		SubscriptionInitialPosition: pulsar.SubscriptionPositionEarliest,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer cons.Close()
	rctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	var got []string
	for len(got) < n {
		msg, err := cons.Receive(rctx)
		if err != nil {
			t.Fatalf("after %d messages on the sink topic: %v", len(got), err)
		}
		var c struct {
			Word  string
			Count int64
		}
		if err := json.Unmarshal(msg.Payload(), &c); err != nil || c.Word == "" || c.Count < 1 {
			t.Fatalf("a count on the sink topic reads %q: %v", msg.Payload(), err)
		}
		got = append(got, fmt.Sprintf("%s=%d", c.Word, c.Count))
		cons.Ack(msg)
	}
	return got
}

func allAllocs(t *testing.T, cl *nomad.Cluster) []string {
	t.Helper()
	allocs, _, err := cl.API().Jobs().Allocations("e2e", true, nil)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, a := range allocs {
		ids = append(ids, a.ID)
	}
	return ids
}

// processesOf lists the processes running bin.
func processesOf(bin string) []string {
	var out []string
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, d := range dirs {
		if exe, err := os.Readlink(d + "/exe"); err == nil && exe == bin {
			cmdline, _ := os.ReadFile(d + "/cmdline")
			out = append(out, filepath.Base(d)+": "+strings.ReplaceAll(string(cmdline), "\x00", " "))
		}
	}
	return out
}

// awaitCleaned waits until the client has garbage-collected every
// allocation: its folder, with the secrets mount, is gone. Stopping the
// agent before that leaves logmon and executor processes and mounts.
func awaitCleaned(t *testing.T, cl *nomad.Cluster, a *agent, ids []string) {
	t.Helper()
	if err := cl.API().System().GarbageCollect(); err != nil {
		t.Errorf("system gc: %v", err)
	}
	deadline := time.Now().Add(2 * time.Minute)
	for _, id := range ids {
		dir := filepath.Join(a.dataDir, "alloc", id)
		for {
			if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("allocation folder %s remains 2 minutes after delete", dir)
			}
			// The client collects an allocation its servers forgot.
			_ = cl.API().Allocations().GC(&api.Allocation{ID: id}, nil)
			time.Sleep(500 * time.Millisecond)
		}
	}
}
