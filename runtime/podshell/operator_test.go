package podshell

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// The Function Mesh operator's names, from controllers/spec/common.go.
const (
	envShardID           = "SHARD_ID"
	envGoFunctionConfigs = "GO_FUNCTION_CONF"
	operatorGRPCPort     = 9093
	operatorMetricsPort  = 9094
	operatorRuntimeGo    = 3 // proto.FunctionDetails_GO
)

// goFunctionConf is the operator's GoFunctionConf
// (controllers/spec/functions_go_conf.go), field for field and in order, so
// that its JSON is byte for byte what the operator writes.
type goFunctionConf struct {
	PulsarServiceURL            string        `json:"pulsarServiceURL"`
	InstanceID                  int           `json:"instanceID"`
	FuncID                      string        `json:"funcID"`
	FuncVersion                 string        `json:"funcVersion"`
	MaxBufTuples                int           `json:"maxBufTuples"`
	Port                        int           `json:"port"`
	ClusterName                 string        `json:"clusterName"`
	KillAfterIdle               time.Duration `json:"killAfterIdleMs"`
	Tenant                      string        `json:"tenant"`
	NameSpace                   string        `json:"nameSpace"`
	Name                        string        `json:"name"`
	LogTopic                    string        `json:"logTopic"`
	ProcessingGuarantees        int32         `json:"processingGuarantees"`
	SecretsMap                  string        `json:"secretsMap"`
	Runtime                     int32         `json:"runtime"`
	AutoACK                     bool          `json:"autoAck"`
	Parallelism                 int32         `json:"parallelism"`
	SubscriptionType            int32         `json:"subscriptionType"`
	TimeoutMs                   uint64        `json:"timeoutMs"`
	SubscriptionName            string        `json:"subscriptionName"`
	CleanupSubscription         bool          `json:"cleanupSubscription"`
	SourceSpecTopic             string        `json:"sourceSpecsTopic"`
	SourceSchemaType            string        `json:"sourceSchemaType"`
	IsRegexPatternSubscription  bool          `json:"isRegexPatternSubscription"`
	ReceiverQueueSize           int32         `json:"receiverQueueSize"`
	SinkSpecTopic               string        `json:"sinkSpecsTopic"`
	SinkSchemaType              string        `json:"sinkSchemaType"`
	CPU                         float64       `json:"cpu"`
	RAM                         int64         `json:"ram"`
	Disk                        int64         `json:"disk"`
	MaxMessageRetries           int32         `json:"maxMessageRetries"`
	DeadLetterTopic             string        `json:"deadLetterTopic"`
	ExpectedHealthCheckInterval int32         `json:"expectedHealthCheckInterval"`
	UserConfig                  string        `json:"userConfig"`
	MetricsPort                 int           `json:"metricsPort"`
}

// sampleConf is a function as convertGoFunctionConfs
// (controllers/spec/utils.go) fills it in: its ID and the broker's URL are
// left to the shell to expand, the instance ID is 0 for now.
func sampleConf(uid string) goFunctionConf {
	return goFunctionConf{
		FuncID:                      fmt.Sprintf("${%s}-%s", envShardID, uid),
		PulsarServiceURL:            "${brokerServiceURL}",
		FuncVersion:                 "0",
		MaxBufTuples:                100,
		Port:                        operatorGRPCPort,
		ClusterName:                 "test-pulsar",
		Tenant:                      "public",
		NameSpace:                   "default",
		Name:                        "fn",
		LogTopic:                    "persistent://public/default/fn-logs",
		ProcessingGuarantees:        0,
		Runtime:                     operatorRuntimeGo,
		AutoACK:                     true,
		Parallelism:                 1,
		SubscriptionName:            "fn-sub",
		SourceSpecTopic:             "persistent://public/default/fn-in",
		SinkSpecTopic:               "persistent://public/default/fn-out",
		CPU:                         1,
		RAM:                         1 << 30,
		MaxMessageRetries:           0,
		ExpectedHealthCheckInterval: -1,
		MetricsPort:                 operatorMetricsPort,
	}
}

// goFunctionCommand is the container command of a Go function's pod, built
// as the operator's MakeGoFunctionCommand, setShardIDEnvironmentVariableCommand,
// getProcessGoRuntimeArgs and generateGoFunctionConf
// (controllers/spec/common.go) build it, for a package already in the image.
func goFunctionCommand(t *testing.T, goExecFilePath string, conf goFunctionConf) []string {
	t.Helper()
	j, err := json.Marshal(conf)
	if err != nil {
		t.Fatal(err)
	}
	str := strings.ReplaceAll(string(j), "\"instanceID\":0", "\"instanceID\":${"+envShardID+"}")
	str = strings.ReplaceAll(str, "\"", "\\\"")
	args := []string{
		fmt.Sprintf("%s=%s", envGoFunctionConfigs, str),
		"&&",
		fmt.Sprintf("goFunctionConfigs=${%s}", envGoFunctionConfigs),
		"&&",
		"echo goFunctionConfigs=\"'${goFunctionConfigs}'\"",
		"&&",
		"ls -l",
		goExecFilePath,
		"&&",
		"chmod +x",
		goExecFilePath,
		"&&",
		"exec",
		goExecFilePath,
		"-instance-conf",
		"${goFunctionConfigs}",
	}
	shardID := fmt.Sprintf("%s=${POD_NAME##*-} && echo shardId=${%s}", envShardID, envShardID)
	return []string{"bash", "-c", shardID + " && " + strings.Join(args, " ")}
}

// pod is a directory laid out like an image: the tools on PATH, linked to
// this test binary, and the instance binary where the operator expects it.
type pod struct {
	path     string // $PATH
	instance string
}

func newPod(t *testing.T) pod {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	p := pod{path: filepath.Join(root, "bin"), instance: filepath.Join(root, "usr", "local", "bin", fakeInstance)}
	for _, dir := range []string{p.path, filepath.Dir(p.instance)} {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	links := map[string]string{p.instance: self}
	for _, name := range []string{"bash", "sh", "ls", "chmod"} {
		links[filepath.Join(p.path, name)] = self
	}
	for link, target := range links {
		if err := os.Symlink(target, link); err != nil {
			t.Fatal(err)
		}
	}
	return p
}

// podRun is what a run of a pod's command showed.
type podRun struct {
	shellPID int
	lines    []string // of output, up to the instance's report
	report   instanceReport
	stopped  string // the instance's answer to SIGTERM
	exitErr  error
}

// run runs command with shell as the container runtime would: its argv as
// given, the pod's environment, and SIGTERM once the instance is up.
func (p pod) run(t *testing.T, shell string, command []string, env ...string) podRun {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), instanceWait)
	defer cancel()
	cmd := exec.CommandContext(ctx, shell)
	cmd.Args = command
	cmd.Env = append([]string{"PATH=" + p.path, helperEnv + "=1"}, env...)
	cmd.Stderr = &testWriter{t}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	run := podRun{shellPID: cmd.Process.Pid}
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if err := json.Unmarshal(sc.Bytes(), &run.report); err == nil {
			// The instance is up: stop the pod, as the kubelet would.
			if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
				t.Error(err)
			}
			if sc.Scan() {
				run.stopped = sc.Text()
			}
			break
		}
		run.lines = append(run.lines, sc.Text())
	}
	run.exitErr = cmd.Wait()
	return run
}

// testWriter shows a helper's standard error in the test's log.
type testWriter struct{ t *testing.T }

func (w *testWriter) Write(b []byte) (int, error) {
	w.t.Logf("stderr: %s", strings.TrimRight(string(b), "\n"))
	return len(b), nil
}

// TestOperatorCommand runs the Function Mesh operator's command line for a
// Go function as a pod on an image without a base would: podshell is bash,
// ls and chmod, and exec must leave the instance as the pod's process.
func TestOperatorCommand(t *testing.T) {
	const (
		podName   = "fn-function-3"
		brokerURL = "pulsar://pulsar-broker.pulsar:6650"
		uid       = "0b7a5e1c-5f35-4b1e-9d2a-8d0c2f6f3a11"
	)
	p := newPod(t)
	command := goFunctionCommand(t, p.instance, sampleConf(uid))
	run := p.run(t, filepath.Join(p.path, "bash"), command, "POD_NAME="+podName, "brokerServiceURL="+brokerURL)

	if run.exitErr != nil {
		t.Errorf("pod exited with %v, want 0 after SIGTERM", run.exitErr)
	}
	if run.report.PID != run.shellPID {
		t.Errorf("instance PID = %d, want the shell's, %d: exec did not replace the shell", run.report.PID, run.shellPID)
	}
	if run.stopped != instanceStopped {
		t.Errorf("instance said %q on SIGTERM, want %q", run.stopped, instanceStopped)
	}
	if len(run.report.Args) != 2 || run.report.Args[0] != "-instance-conf" {
		t.Fatalf("instance args = %q, want -instance-conf and one JSON argument", run.report.Args)
	}
	var got goFunctionConf
	if err := json.Unmarshal([]byte(run.report.Args[1]), &got); err != nil {
		t.Fatalf("-instance-conf %s: %v", run.report.Args[1], err)
	}
	want := sampleConf(uid)
	want.InstanceID, want.FuncID, want.PulsarServiceURL = 3, "3-"+uid, brokerURL
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("instance configuration (-want +got):\n%s", diff)
	}
	checkPodOutput(t, run.lines, run.report.Args[1], p.instance)
}

// checkPodOutput checks the command's echo lines and the ls -l line of the
// instance binary (a link, in this test).
func checkPodOutput(t *testing.T, lines []string, conf, instance string) {
	t.Helper()
	if len(lines) != 3 {
		t.Fatalf("pod output = %q, want shardId, goFunctionConfigs and ls lines", lines)
	}
	if diff := cmp.Diff([]string{"shardId=3", "goFunctionConfigs='" + conf + "'"}, lines[:2]); diff != "" {
		t.Errorf("echo lines (-want +got):\n%s", diff)
	}
	if !strings.HasPrefix(lines[2], "lrwxrwxrwx 1 ") || !strings.HasSuffix(lines[2], " "+instance+" -> "+mustExecutable(t)) {
		t.Errorf("ls -l line = %q, want a link at %s", lines[2], instance)
	}
}

func mustExecutable(t *testing.T) string {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return self
}

// TestOperatorCommandLikeBash runs the operator's command with GNU bash,
// where there is one, and with podshell, and wants the instance started
// the same way: the operator's escaping was written for GNU bash. A
// function's user configuration is JSON in a JSON string, whose escaped
// quotes the operator's escaping turns into shell quotes: what the
// instance gets is not JSON then, from either shell.
func TestOperatorCommandLikeBash(t *testing.T) {
	gnu, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("no GNU bash here:", err)
	}
	confs := map[string]goFunctionConf{"plain": sampleConf("uid-1")}
	withUserConfig := sampleConf("uid-2")
	withUserConfig.UserConfig = `{"greeting":"hello","n":1}`
	confs["user config"] = withUserConfig
	for name, conf := range confs {
		t.Run(name, func(t *testing.T) {
			p := newPod(t)
			command := goFunctionCommand(t, p.instance, conf)
			env := []string{"POD_NAME=fn-function-7", "brokerServiceURL=pulsar://broker:6650"}
			want := p.run(t, gnu, command, env...)
			got := p.run(t, filepath.Join(p.path, "bash"), command, env...)
			if diff := cmp.Diff(want.report.Args, got.report.Args); diff != "" {
				t.Errorf("instance args (-GNU bash +podshell):\n%s", diff)
			}
			if diff := cmp.Diff(want.lines, got.lines); diff != "" {
				t.Errorf("output (-GNU bash +podshell):\n%s", diff)
			}
		})
	}
}

// TestExec checks what exec gives the program: the shell's process, its
// exported variables, its directory and its redirections.
func TestExec(t *testing.T) {
	p := newPod(t)
	out := filepath.Join(t.TempDir(), "out")
	script := `X=1; export Y=2; cd / && Z=3 exec ` + p.instance + ` a "b c" 2>` + out
	run := p.run(t, filepath.Join(p.path, "bash"), []string{"bash", "-c", script})
	if run.report.PID != run.shellPID {
		t.Errorf("instance PID = %d, want the shell's, %d", run.report.PID, run.shellPID)
	}
	var env []string
	for _, kv := range run.report.Env {
		if name, _, _ := strings.Cut(kv, "="); len(name) == 1 {
			env = append(env, kv)
		}
	}
	want := instanceReport{Args: []string{"a", "b c"}, PID: run.shellPID, Env: []string{"Y=2", "Z=3"}, Dir: "/"}
	got := run.report
	got.Env = env
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("exec (-want +got):\n%s", diff)
	}
	if _, err := os.Stat(out); err != nil {
		t.Errorf("exec's redirection: %v", err)
	}
}

func TestExecFails(t *testing.T) {
	p := newPod(t)
	tests := []struct {
		script string
		status int
	}{
		{"exec nosuch-command", exitNotFound},
		{"exec /nonexistent", exitNotFound},
		{"exec /", exitNoExec},
		{"exec -z x", exitTrouble},
	}
	for _, tt := range tests {
		cmd := exec.Command(filepath.Join(p.path, "bash"), "-c", tt.script+"; echo not here")
		cmd.Env = []string{"PATH=" + p.path, helperEnv + "=1"}
		out, err := cmd.Output()
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			t.Errorf("bash -c %q: %v, want status %d", tt.script, err, tt.status)
			continue
		}
		if ee.ExitCode() != tt.status || len(out) != 0 || len(ee.Stderr) == 0 {
			t.Errorf("bash -c %q: %v, output %q, stderr %q; want status %d and an error", tt.script, err, out, ee.Stderr, tt.status)
		}
	}
}
