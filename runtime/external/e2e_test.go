package external_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/meshc/meshc/internal/brokertest"
	"github.com/meshc/meshc/internal/syncbuf"

	"github.com/apache/pulsar-client-go/pulsar"
	"github.com/google/go-cmp/cmp"
	"github.com/meshc/meshc/broker"
	"github.com/meshc/meshc/planner/plan"
	"github.com/meshc/meshc/runtime"
	"github.com/meshc/meshc/runtime/wasm/wasmtest"
)

// These tests run exec and wasm functions in real instances, with the real
// pulsar-client-go against the embedded broker on 127.0.0.1.

var quiet = brokertest.Quiet

func topic(name string) string { return brokertest.Topic(name) }

func startBroker(t testing.TB) *broker.Broker { return brokertest.Start(t, broker.Config{}) }

func client(t testing.TB, b *broker.Broker) pulsar.Client { return brokertest.Client(t, b.URL()) }

var str = plan.Schema{Type: "string"}

func component(name string, impl plan.Implementation, in, out string) plan.Component {
	c := plan.Component{
		Kind: plan.Function, Name: name, FQFN: "public/default/" + name, Implementation: impl,
		Inputs:       []plan.Input{{Topic: in, Schema: str}},
		Subscription: plan.Subscription{Name: name, Type: "shared", Position: "earliest"},
		Guarantee:    plan.AtLeastOnce, Replicas: plan.Replicas{Count: 1}, MaxRetries: 2, State: true,
	}
	if out != "" {
		c.Output = &plan.Output{Topic: out, Schema: str}
	}
	return c
}

// python runs testdata/tag.py, or the script named, with the helper on
// its path.
func python(t testing.TB, script ...string) plan.Implementation {
	t.Helper()
	helper, err := filepath.Abs("python")
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("PYTHONPATH", helper)
	path, _ := filepath.Abs(filepath.Join("testdata", append(script, "tag.py")[0]))
	return plan.Implementation{Kind: "exec", Command: []string{"python3", path}}
}

func wasmGuest(t testing.TB) plan.Implementation {
	return plan.Implementation{Kind: "wasm", Module: wasmtest.Build(t, "../wasm/testdata/guest")}
}

// run runs a component until the test ends.
func run(t testing.TB, b *broker.Broker, c plan.Component, log *slog.Logger) {
	t.Helper()
	if c.Implementation.Kind == "wasm" && c.Sandbox == nil {
		c.Sandbox = &plan.Sandbox{Memory: 64 << 20, Time: plan.Duration(10 * time.Second)}
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	in := &plan.Instance{APIVersion: plan.APIVersion, Mesh: plan.Mesh{Name: "m", Tenant: "public", Namespace: "default"}, Component: c}
	go func() {
		done <- runtime.Run(ctx, runtime.Options{Plan: in, PulsarURL: b.URL(), Registry: runtime.Builtins(), Logger: log})
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("instance %s: %v", c.Name, err)
			}
		case <-time.After(30 * time.Second):
			t.Errorf("instance %s did not stop", c.Name)
		}
	})
}

func produce(t testing.TB, c pulsar.Client, topic string, payloads ...string) {
	t.Helper()
	p, err := c.CreateProducer(pulsar.ProducerOptions{Topic: topic})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	var wg sync.WaitGroup
	for _, s := range payloads {
		wg.Add(1)
		p.SendAsync(context.Background(), &pulsar.ProducerMessage{Payload: []byte(s)}, func(_ pulsar.MessageID, _ *pulsar.ProducerMessage, err error) {
			if err != nil {
				t.Error(err)
			}
			wg.Done()
		})
	}
	wg.Wait()
}

// reader reads a topic from its start.
func reader(t testing.TB, c pulsar.Client, topic string) pulsar.Consumer {
	t.Helper()
	consumer, err := c.Subscribe(pulsar.ConsumerOptions{Topic: topic, SubscriptionName: "test-reader",
		SubscriptionInitialPosition: pulsar.SubscriptionPositionEarliest})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(consumer.Close)
	return consumer
}

// receiveWait is how long next waits for a message before failing. The
// first waits for the instances to start: compiling a WebAssembly guest
// under the race detector took 30 s on an idle machine of two cores, and
// over a minute on a busy one.
const receiveWait = 3 * time.Minute

// next receives one message, failing the test after a long wait.
func next(t testing.TB, c pulsar.Consumer) pulsar.Message {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), receiveWait)
	defer cancel()
	msg, err := c.Receive(ctx)
	if err != nil {
		t.Fatalf("receiving from %s: %v", c.Subscription(), err)
	}
	c.Ack(msg)
	return msg
}

// TestPythonWasmAndGoInOneMesh chains a Python function, a WebAssembly
// function and a Go function: in -> tag (Python) -> upper (wasm) ->
// exclaim (Go built-in) -> out.
func TestPythonWasmAndGoInOneMesh(t *testing.T) {
	b := startBroker(t)
	c := client(t, b)
	in, tagged, upper, out := topic("in"), topic("tagged"), topic("upper"), topic("out")
	run(t, b, component("tag", python(t), in, tagged), quiet)
	run(t, b, component("upper", wasmGuest(t), tagged, upper), quiet)
	run(t, b, component("exclaim", plan.Implementation{Kind: "builtin", Name: "exclamation"}, upper, out), quiet)
	sent, want := numbered(100, "word %d", "WORD %d PY!")
	produce(t, c, in, sent...)
	expectOutputs(t, c, out, want)
}

// numbered makes n inputs and their expected outputs from two formats of
// the message's number.
func numbered(n int, input, output string) (sent, want []string) {
	for i := range n {
		sent = append(sent, fmt.Sprintf(input, i))
		want = append(want, fmt.Sprintf(output, i))
	}
	return sent, want
}

// expectOutputs reads a topic from its start and compares what comes with
// want, in order.
func expectOutputs(t *testing.T, c pulsar.Client, topic string, want []string) {
	t.Helper()
	r := reader(t, c, topic)
	var got []string
	for range want {
		got = append(got, string(next(t, r).Payload()))
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// TestPipelinedCallsKeepOrder: calls to a child are started ahead, up to
// its window, yet outputs leave in the order of the inputs, each once,
// under at_least_once and effectively_once on a failover subscription. The
// child (this test binary, see lookahead) answers a call only once the
// next one has come, so without calls started ahead nothing would come
// out.
func TestPipelinedCallsKeepOrder(t *testing.T) {
	t.Setenv("MESHC_TEST_CHILD", "lookahead") // the instance's child inherits it
	for _, g := range []plan.Guarantee{plan.AtLeastOnce, plan.EffectivelyOnce} {
		t.Run(string(g), func(t *testing.T) {
			b := startBroker(t)
			c := client(t, b)
			in, out := topic("in"), topic("out")
			comp := component("ahead", plan.Implementation{Kind: "exec", Command: []string{os.Args[0]}}, in, out)
			comp.Guarantee, comp.Subscription.Type, comp.MaxRetries, comp.State = g, "failover", 0, false
			sent, want := numbered(500, "w%d", "w%d")
			sent, want = append(sent, "last"), append(want, "last")
			produce(t, c, in, sent...)
			run(t, b, comp, quiet)
			expectOutputs(t, c, out, want)
		})
	}
}

// TestPythonReadsItsState: a Python function keeps counters and a value
// in its state and reads them back while calls are started ahead: each
// message sees what every message before it wrote.
func TestPythonReadsItsState(t *testing.T) {
	b := startBroker(t)
	c := client(t, b)
	in, out := topic("in"), topic("out")
	words := []string{"a", "b", "c"}
	var sent, want []string
	for i := range 300 {
		w, previous := words[i%3], "-"
		if i > 0 {
			previous = words[(i-1)%3]
		}
		sent = append(sent, w)
		want = append(want, fmt.Sprintf("%s %d after %s", w, i/3+1, previous))
	}
	produce(t, c, in, sent...)
	run(t, b, component("count", python(t, "count.py"), in, out), quiet)
	expectOutputs(t, c, out, want)
}

// TestKilledPythonChildLosesNothing kills the Python child with SIGKILL
// while messages stream through it, under at_least_once, and counts every
// input in the output: with calls started ahead, and for a stateful
// function whose calls read its state one at a time.
func TestKilledPythonChildLosesNothing(t *testing.T) {
	for _, stateful := range []bool{false, true} {
		t.Run(fmt.Sprintf("state=%v", stateful), func(t *testing.T) {
			comp := component("tag", python(t), topic("in"), topic("out"))
			comp.State = stateful
			comp.Config = plan.Config{{Key: "count", Value: stateful}}
			killChildMidStream(t, comp)
		})
	}
}

func killChildMidStream(t *testing.T, comp plan.Component) {
	b := startBroker(t)
	c := client(t, b)
	pidfile := filepath.Join(t.TempDir(), "pid")
	t.Setenv("MESHC_TEST_PIDFILE", pidfile)
	logs := &syncbuf.Buffer{}
	const n = 3000
	var sent []string
	for i := range n {
		sent = append(sent, strconv.Itoa(i))
	}
	produce(t, c, comp.Inputs[0].Topic, sent...)
	run(t, b, comp, slog.New(slog.NewTextHandler(logs, nil)))

	r := reader(t, c, comp.Output.Topic)
	seen := map[string]int{}
	received := 0
	for len(seen) < n {
		p := strings.TrimSuffix(string(next(t, r).Payload()), " py")
		seen[p]++
		received++
		if received == n/10 {
			pid, err := os.ReadFile(pidfile)
			if err != nil {
				t.Fatal(err)
			}
			p, _ := strconv.Atoi(string(pid))
			if err := syscall.Kill(p, syscall.SIGKILL); err != nil {
				t.Fatalf("killing the Python child %d: %v", p, err)
			}
		}
	}
	lost := 0
	for _, s := range sent {
		if seen[s] == 0 {
			lost++
		}
	}
	t.Logf("%d sent, %d received, %d lost, %d duplicates", n, received, lost, received-n)
	if lost != 0 {
		t.Errorf("%d messages lost", lost)
	}
	if !strings.Contains(logs.String(), "function stopped; restarting it") {
		t.Errorf("the child was not restarted: the kill came too late? log:\n%s", logs)
	}
}

// TestEndlessWasmLoopIsDeadLettered runs a module that never answers one
// message: each delivery hits the sandbox's time limit, and the message
// goes to the dead-letter topic; the messages around it go through. The
// limit is far above what the calls that end take on a loaded machine, so
// only the endless one meets it.
func TestEndlessWasmLoopIsDeadLettered(t *testing.T) {
	b := startBroker(t)
	c := client(t, b)
	in, out, dlq := topic("in"), topic("out"), topic("dlq")
	f := component("upper", wasmGuest(t), in, out)
	f.Sandbox = &plan.Sandbox{Memory: 64 << 20, Time: plan.Duration(5 * time.Second)}
	f.MaxRetries, f.DeadLetterTopic = 0, dlq
	produce(t, c, in, "before", "loop", "after")
	run(t, b, f, quiet)
	dead := next(t, reader(t, c, dlq))
	if string(dead.Payload()) != "loop" || !strings.Contains(dead.Properties()["meshc-error"], "did not answer within") {
		t.Errorf("dead letter %q, error %q", dead.Payload(), dead.Properties()["meshc-error"])
	}
	r := reader(t, c, out)
	got := []string{string(next(t, r).Payload()), string(next(t, r).Payload())}
	if diff := cmp.Diff([]string{"BEFORE", "AFTER"}, got); diff != "" {
		t.Errorf("outputs (-want +got):\n%s", diff)
	}
}

// TestMaliciousModuleIsRefused runs a module that tries to read host files,
// with one folder granted: everything outside it is refused, and the
// messages are dead-lettered with the reason.
func TestMaliciousModuleIsRefused(t *testing.T) {
	b := startBroker(t)
	c := client(t, b)
	granted, other := t.TempDir(), t.TempDir()
	os.WriteFile(filepath.Join(granted, "ok.txt"), []byte("allowed"), 0o644)
	os.WriteFile(filepath.Join(other, "secret.txt"), []byte("secret"), 0o644)
	in, out, dlq := topic("in"), topic("out"), topic("dlq")
	f := component("snoop", wasmGuest(t), in, out)
	f.Sandbox = &plan.Sandbox{Memory: 64 << 20, Time: plan.Duration(10 * time.Second), Dirs: []string{granted}}
	f.MaxRetries, f.DeadLetterTopic = 0, dlq
	attempts := []string{"read:/etc/passwd", "read:" + filepath.Join(other, "secret.txt"), "write:" + filepath.Join(granted, "x"), "list:/"}
	produce(t, c, in, append(attempts, "read:"+filepath.Join(granted, "ok.txt"))...)
	run(t, b, f, quiet)
	if got := string(next(t, reader(t, c, out)).Payload()); got != "allowed" {
		t.Errorf("reading the granted folder: %q", got)
	}
	r := reader(t, c, dlq)
	for _, want := range attempts {
		dead := next(t, r)
		if string(dead.Payload()) != want || dead.Properties()["meshc-error"] == "" {
			t.Errorf("dead letter %q (%q), want %q refused", dead.Payload(), dead.Properties()["meshc-error"], want)
		}
		t.Logf("%s: %s", dead.Payload(), dead.Properties()["meshc-error"])
	}
	if _, err := os.Stat(filepath.Join(granted, "x")); err == nil {
		t.Error("the module wrote into a read-only folder")
	}
}
