package worker

import (
	"bytes"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"slices"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/apache/pulsar-client-go/pulsaradmin/pkg/utils"
	"github.com/google/go-cmp/cmp"
)

const (
	tenant    = "public"
	namespace = "default"
)

// TestFunctionEndToEnd registers wordcount's split through pulsaradmin
// with meshrt as its package: every instance runs, messages flow, stats
// count them, trigger returns the output, and delete removes the function
// and its subscription.
func TestFunctionEndToEnd(t *testing.T) {
	e := start(t, Options{})
	p := wordcount(t)
	fc := functionConfig(t, p, "split")
	fns := e.admin.Functions()
	if err := fns.CreateFunc(fc, meshrt(t)); err != nil {
		t.Fatalf("register: %v", err)
	}
	names, err := fns.GetFunctions(tenant, namespace)
	if err != nil || !slices.Equal(names, []string{"split"}) {
		t.Fatalf("list: %v, %v", names, err)
	}
	got, err := fns.GetFunction(tenant, namespace, "split")
	if err != nil {
		t.Fatal(err)
	}
	if got.Parallelism != 2 || got.Output != fc.Output || got.Runtime != utils.GoRuntime || got.UserConfig["meshc.plan"] == nil {
		t.Errorf("get: %+v", got)
	}
	e.running(t, tenant, namespace, "split", 2)

	send(t, e.client, fc.Inputs[0], "The quick fox")
	words := receive(t, e.client, fc.Output, 3)
	sort.Strings(words)
	if diff := cmp.Diff([]string{"fox", "quick", "the"}, words); diff != "" {
		t.Errorf("words (-want +got):\n%s", diff)
	}
	eventually(t, "stats count the message", func() error {
		st, err := fns.GetFunctionStats(tenant, namespace, "split")
		if err == nil && (st.ReceivedTotal != 1 || st.ProcessedSuccessfullyTotal != 1 || len(st.Instances) != 2) {
			err = errorf("stats %+v", st)
		}
		return err
	})

	out, code := triggerRaw(t, e, "split", "Hello")
	if code != http.StatusOK || out != "hello" {
		t.Errorf("trigger: %d %q, want 200 \"hello\"", code, out)
	}
	if _, err := fns.TriggerFunction(tenant, namespace, "split", "", "again", ""); err != nil {
		t.Errorf("trigger through pulsaradmin: %v", err)
	}

	subs, err := e.topics.Subscriptions().List(*topicName(t, fc.Inputs[0]))
	if err != nil || !slices.Contains(subs, "wordcount-split") {
		t.Fatalf("subscriptions before delete: %v, %v", subs, err)
	}
	if err := fns.DeleteFunction(tenant, namespace, "split"); err != nil {
		t.Fatalf("delete: %v", err)
	}
	if names, _ := fns.GetFunctions(tenant, namespace); len(names) != 0 {
		t.Errorf("functions after delete: %v", names)
	}
	subs, err = e.topics.Subscriptions().List(*topicName(t, fc.Inputs[0]))
	if err != nil || slices.Contains(subs, "wordcount-split") {
		t.Errorf("subscriptions after delete: %v, %v", subs, err)
	}
	if _, err := fns.GetFunctionStatus(tenant, namespace, "split"); codeOf(err) != http.StatusNotFound {
		t.Errorf("status after delete: %v, want 404", err)
	}
}

// TestUpdateRestartsOnlyThatFunction updates one of two functions: its
// processes are new, the other's are the same.
func TestUpdateRestartsOnlyThatFunction(t *testing.T) {
	e := start(t, Options{})
	p := wordcount(t)
	split, count := functionConfig(t, p, "split"), functionConfig(t, p, "count")
	fns := e.admin.Functions()
	for _, fc := range []*utils.FunctionConfig{split, count} {
		if err := fns.CreateFunc(fc, meshrt(t)); err != nil {
			t.Fatalf("register %s: %v", fc.Name, err)
		}
	}
	e.running(t, tenant, namespace, "split", 2)
	e.running(t, tenant, namespace, "count", 2)
	splitBefore, countBefore := e.pids("split"), e.pids("count")

	split.UserConfig["greeting"] = "hi"
	if err := fns.UpdateFunction(split, "", nil); err != nil {
		t.Fatalf("update: %v", err)
	}
	e.running(t, tenant, namespace, "split", 2)
	if after := e.pids("split"); slices.ContainsFunc(after, func(pid int) bool { return slices.Contains(splitBefore, pid) }) {
		t.Errorf("split's instances %v were not restarted (before %v)", after, splitBefore)
	}
	if after := e.pids("count"); !slices.Equal(after, countBefore) {
		t.Errorf("count's instances changed from %v to %v", countBefore, after)
	}
	if err := fns.UpdateFunction(split, "", nil); codeOf(err) != http.StatusBadRequest {
		t.Errorf("update without change: %v, want 400", err)
	}
	// A new package is a change too.
	if err := fns.UpdateFunction(split, meshrt(t), nil); err != nil {
		t.Errorf("update with a package: %v", err)
	}
	e.running(t, tenant, namespace, "split", 2)
}

// TestStopStartRestart acts on one instance and on all of them.
func TestStopStartRestart(t *testing.T) {
	e := start(t, Options{})
	fc := functionConfig(t, wordcount(t), "split")
	fns := e.admin.Functions()
	if err := fns.CreateFunc(fc, meshrt(t)); err != nil {
		t.Fatal(err)
	}
	e.running(t, tenant, namespace, "split", 2)
	if err := fns.StopFunctionWithID(tenant, namespace, "split", 1); err != nil {
		t.Fatal(err)
	}
	st, err := fns.GetFunctionStatus(tenant, namespace, "split")
	if err != nil || st.NumRunning != 1 || st.Instances[1].Status.Running {
		t.Fatalf("after stopping instance 1: %+v, %v", st, err)
	}
	one, err := fns.GetFunctionStatusWithInstanceID(tenant, namespace, "split", 1)
	if err != nil || one.Running {
		t.Errorf("instance 1: %+v, %v", one, err)
	}
	if err := fns.StartFunctionWithID(tenant, namespace, "split", 1); err != nil {
		t.Fatal(err)
	}
	e.running(t, tenant, namespace, "split", 2)
	if err := fns.StopFunction(tenant, namespace, "split"); err != nil {
		t.Fatal(err)
	}
	if st, _ := fns.GetFunctionStatus(tenant, namespace, "split"); st.NumRunning != 0 {
		t.Errorf("after stop: %+v", st)
	}
	if err := fns.StartFunction(tenant, namespace, "split"); err != nil {
		t.Fatal(err)
	}
	e.running(t, tenant, namespace, "split", 2)
	before := e.pids("split")
	if err := fns.RestartFunction(tenant, namespace, "split"); err != nil {
		t.Fatal(err)
	}
	e.running(t, tenant, namespace, "split", 2)
	if after := e.pids("split"); slices.Equal(after, before) {
		t.Errorf("restart kept processes %v", after)
	}
	if err := fns.RestartFunctionWithID(tenant, namespace, "split", 5); codeOf(err) != http.StatusNotFound {
		t.Errorf("restart of instance 5: %v, want 404", err)
	}
}

// TestCrashedInstanceRestarts kills an instance: the worker starts it
// again and counts the restart.
func TestCrashedInstanceRestarts(t *testing.T) {
	e := start(t, Options{})
	fc := functionConfig(t, wordcount(t), "split")
	fc.Parallelism = 1
	if err := e.admin.Functions().CreateFunc(fc, meshrt(t)); err != nil {
		t.Fatal(err)
	}
	e.running(t, tenant, namespace, "split", 1)
	pid := e.pids("split")[0]
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the instance runs again", func() error {
		st, err := e.admin.Functions().GetFunctionStatusWithInstanceID(tenant, namespace, "split", 0)
		if err == nil && (!st.Running || st.NumRestarts != 1) {
			err = errorf("%+v", st)
		}
		return err
	})
}

// TestState reads a counter the function keeps, and writes and reads
// values and counters through the worker API.
func TestState(t *testing.T) {
	e := start(t, Options{})
	fc := functionConfig(t, wordcount(t), "count")
	fc.Parallelism = 1
	fns := e.admin.Functions()
	if err := fns.CreateFunc(fc, meshrt(t)); err != nil {
		t.Fatal(err)
	}
	e.running(t, tenant, namespace, "count", 1)
	send(t, e.client, fc.Inputs[0], "fox", "dog", "fox")
	receive(t, e.client, fc.Output, 3)
	// The instance's state reaches the store beside its outputs, not
	// before them: the count is read until it is there.
	eventually(t, "the count of fox is 2", func() error {
		st, err := fns.GetFunctionState(tenant, namespace, "count", "fox")
		if err == nil && st.NumValue != 2 {
			err = errorf("state of fox: %+v; want 2", st)
		}
		return err
	})
	if err := fns.PutFunctionState(tenant, namespace, "count", utils.FunctionState{Key: "cat", NumValue: 41}); err != nil {
		t.Fatal(err)
	}
	if err := fns.PutFunctionState(tenant, namespace, "count", utils.FunctionState{Key: "note", StringValue: "hello"}); err != nil {
		t.Fatal(err)
	}
	cat, err1 := fns.GetFunctionState(tenant, namespace, "count", "cat")
	note, err2 := fns.GetFunctionState(tenant, namespace, "count", "note")
	want := []utils.FunctionState{{Key: "cat", NumValue: 41}, {Key: "note", StringValue: "hello"}}
	if diff := cmp.Diff(want, []utils.FunctionState{cat, note}); diff != "" || err1 != nil || err2 != nil {
		t.Errorf("state (-want +got):\n%s%v %v", diff, err1, err2)
	}
	if _, err := fns.GetFunctionState(tenant, namespace, "count", "nothing"); codeOf(err) != http.StatusNotFound {
		t.Errorf("unknown key: %v, want 404", err)
	}
}

// TestFunctionsComeBack restarts the worker on the same directory: the
// function is registered and running again.
func TestFunctionsComeBack(t *testing.T) {
	dir := t.TempDir()
	e := start(t, Options{Dir: dir})
	fc := functionConfig(t, wordcount(t), "split")
	fc.Parallelism = 1
	if err := e.admin.Functions().CreateFunc(fc, meshrt(t)); err != nil {
		t.Fatal(err)
	}
	e.running(t, tenant, namespace, "split", 1)
	e.w.Close()

	again := start(t, Options{Dir: dir})
	again.running(t, tenant, namespace, "split", 1)
	logs, err := os.ReadFile(dir + "/logs/public/default/split/split-0.log")
	if err != nil || !strings.Contains(string(logs), "instance started") {
		t.Errorf("instance log: %v\n%s", err, logs)
	}
}

// TestErrors shows the status codes Pulsar's worker answers with.
func TestErrors(t *testing.T) {
	e := start(t, Options{MaxPackageBytes: 1 << 20})
	fns := e.admin.Functions()
	p := wordcount(t)
	small := t.TempDir() + "/fn"
	if err := os.WriteFile(small, []byte("#!/bin/sh\nsleep 600\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := fns.CreateFunc(functionConfig(t, p, "split"), small); err != nil {
		t.Fatal(err)
	}
	refused := func(edit func(*utils.FunctionConfig)) *utils.FunctionConfig {
		fc := functionConfig(t, p, "count")
		edit(fc)
		return fc
	}
	for _, tc := range []struct {
		name string
		call func() error
		want int
	}{
		{"get unknown", func() error { _, err := fns.GetFunction(tenant, namespace, "nope"); return err }, 404},
		{"status unknown", func() error { _, err := fns.GetFunctionStatus(tenant, namespace, "nope"); return err }, 404},
		{"delete unknown", func() error { return fns.DeleteFunction(tenant, namespace, "nope") }, 404},
		{"stop unknown", func() error { return fns.StopFunction(tenant, namespace, "nope") }, 404},
		{"register existing", func() error { return fns.CreateFunc(functionConfig(t, p, "split"), small) }, 400},
		{"update unknown", func() error { return fns.UpdateFunction(functionConfig(t, p, "count"), small, nil) }, 400},
		{"update adds an input", func() error {
			fc := functionConfig(t, p, "split")
			fc.Inputs = append(fc.Inputs, "persistent://public/default/more")
			return fns.UpdateFunction(fc, "", nil)
		}, 400},
		{"update changes the guarantee", func() error {
			fc := functionConfig(t, p, "split")
			fc.ProcessingGuarantees = atMostOnce
			return fns.UpdateFunction(fc, "", nil)
		}, 400},
		{"update changes retain ordering", func() error {
			fc := functionConfig(t, p, "split")
			fc.RetainOrdering = true
			return fns.UpdateFunction(fc, "", nil)
		}, 400},
		{"timeout at most once", func() error {
			return fns.CreateFunc(refused(func(fc *utils.FunctionConfig) {
				ms := int64(1000)
				fc.TimeoutMs, fc.ProcessingGuarantees = &ms, atMostOnce
			}), small)
		}, 400},
		{"output is an input", func() error {
			return fns.CreateFunc(refused(func(fc *utils.FunctionConfig) { fc.Output = fc.Inputs[0] }), small)
		}, 400},
		{"package too large", func() error { return fns.CreateFunc(functionConfig(t, p, "count"), meshrt(t)) }, 413},
		{"no package", func() error { return fns.CreateFunc(functionConfig(t, p, "count"), "") }, 400},
		{"bad package url", func() error { return fns.CreateFuncWithURL(functionConfig(t, p, "count"), "ftp://x/y") }, 400},
		{"no inputs", func() error {
			return fns.CreateFunc(refused(func(fc *utils.FunctionConfig) { fc.Inputs = nil }), small)
		}, 400},
		{"effectively-once", func() error {
			return fns.CreateFunc(refused(func(fc *utils.FunctionConfig) { fc.ProcessingGuarantees = effectivelyOnce }), small)
		}, 400},
		{"java", func() error {
			return fns.CreateFunc(refused(func(fc *utils.FunctionConfig) { jar := "x.jar"; fc.Go, fc.Jar = nil, &jar }), small)
		}, 400},
		{"bad name", func() error {
			return fns.CreateFunc(refused(func(fc *utils.FunctionConfig) { fc.Name = "a b" }), small)
		}, 400},
		{"unknown state", func() error { _, err := fns.GetFunctionState(tenant, namespace, "nope", "k"); return err }, 404},
	} {
		if err := tc.call(); codeOf(err) != tc.want {
			t.Errorf("%s: %v, want %d", tc.name, err, tc.want)
		}
	}
	if names, _ := fns.GetFunctions(tenant, namespace); !slices.Equal(names, []string{"split"}) {
		t.Errorf("functions after the refused calls: %v", names)
	}
}

// TestWorkerOff: a broker without the worker answers the worker API with
// 503, as does a worker not started yet.
func TestWorkerOff(t *testing.T) {
	off := startBrokerOnly(t, Disabled())
	_, err := adminClient(t, off).Functions().GetFunctions(tenant, namespace)
	if codeOf(err) != http.StatusServiceUnavailable || !strings.Contains(err.Error(), "--functions-worker") {
		t.Errorf("worker off: %v, want 503 naming --functions-worker", err)
	}
	w, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	notYet := startBrokerOnly(t, w.Routes())
	if _, err := adminClient(t, notYet).Functions().GetFunctions(tenant, namespace); codeOf(err) != http.StatusServiceUnavailable {
		t.Errorf("worker not started: %v, want 503", err)
	}
}

// triggerRaw triggers a function over HTTP, as pulsar-admin does, and
// returns the body pulsaradmin does not read.
func triggerRaw(t *testing.T, e *env, name, value string) (string, int) {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	mw.WriteField("data", value)
	mw.Close()
	resp, err := (&http.Client{Timeout: time.Minute}).Post(e.b.AdminURL()+functionsPath+"/"+tenant+"/"+namespace+"/"+name+"/trigger", mw.FormDataContentType(), &body)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return string(out), resp.StatusCode
}
