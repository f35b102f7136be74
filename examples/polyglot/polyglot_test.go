package polyglot

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/meshc/meshc/internal/brokertest"

	"github.com/apache/pulsar-client-go/pulsar"
	plog "github.com/apache/pulsar-client-go/pulsar/log"
	"github.com/google/go-cmp/cmp"
	"github.com/meshc/meshc/broker"
	"github.com/meshc/meshc/compiler"
	"github.com/meshc/meshc/lang"
	"github.com/meshc/meshc/planner"
	"github.com/meshc/meshc/planner/plan"
	"github.com/meshc/meshc/runtime"
	"github.com/meshc/meshc/runtime/wasm/wasmtest"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// TestPolyglot plans polyglot.mesh and runs every instance of it on the
// embedded broker with the real pulsar-client-go: the Python function as a
// child process, the Go program built for WebAssembly in wazero, and the
// built-in Go function, each in its own instance of the shared runtime.
func TestPolyglot(t *testing.T) {
	p := planMesh(t, "polyglot.mesh")
	// Relative paths in exec and wasm are the instance's working folder's;
	// the test runs from elsewhere, so it makes them absolute.
	module := wasmtest.Build(t, "./reverse")
	script, err := filepath.Abs("shout.py")
	if err != nil {
		t.Fatal(err)
	}
	b := brokertest.Start(t, broker.Config{})

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	errs := make(chan error, len(p.Components))
	running := 0
	for i := range p.Components {
		c := &p.Components[i]
		switch c.Implementation.Kind {
		case "exec":
			c.Implementation.Command = []string{"python3", script}
		case "wasm":
			c.Implementation.Module = module
		}
		if c.Kind == plan.Sink {
			continue // the test reads the sink's topic itself
		}
		in := p.Instance(c, 0)
		running++
		go func() {
			errs <- runtime.Run(ctx, runtime.Options{Plan: &in, PulsarURL: b.URL(), Registry: runtime.Builtins(), Logger: quiet})
		}()
	}

	got := read(t, b.URL(), topicOf(t, p, "exclaimed"), 6)
	// shout numbers the sentences from its state, in the order they come.
	want := []string{
		"#1 (shouted) FOX BROWN QUICK THE!", "#2 (shouted) DOG LAZY THE OVER JUMPS!", "#3 (shouted) FOX BROWN QUICK THE!",
		"#4 (shouted) DOG LAZY THE OVER JUMPS!", "#5 (shouted) FOX BROWN QUICK THE!", "#6 (shouted) DOG LAZY THE OVER JUMPS!",
	}
	slices.Sort(got)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	cancel()
	for range running {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}

func planMesh(t *testing.T, name string) *plan.Plan {
	t.Helper()
	src, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	f, diags := lang.Parse(name, src)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	m, diags := compiler.Compile([]*lang.File{f}, nil)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	return planner.Plan(m, planner.Options{Source: name})
}

func topicOf(t *testing.T, p *plan.Plan, name string) string {
	for _, tp := range p.Topics {
		if tp.Name == name {
			return tp.FQN
		}
	}
	t.Fatalf("no topic %s in the plan", name)
	return ""
}

// read receives n messages from a topic, from its start.
func read(t *testing.T, url, topic string, n int) []string {
	t.Helper()
	c, err := pulsar.NewClient(pulsar.ClientOptions{URL: url, Logger: plog.NewLoggerWithSlog(quiet)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	consumer, err := c.Subscribe(pulsar.ConsumerOptions{Topic: topic, SubscriptionName: "test-reader",
		SubscriptionInitialPosition: pulsar.SubscriptionPositionEarliest})
	if err != nil {
		t.Fatal(err)
	}
	defer consumer.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var out []string
	for len(out) < n {
		msg, err := consumer.Receive(ctx)
		if err != nil {
			t.Fatalf("received %d of %d messages from %s: %v", len(out), n, topic, err)
		}
		consumer.Ack(msg)
		out = append(out, string(msg.Payload()))
	}
	return out
}
