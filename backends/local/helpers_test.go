package local

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/meshc/meshc/internal/brokertest"
	"github.com/meshc/meshc/internal/syncbuf"

	"github.com/apache/pulsar-client-go/pulsar"

	"github.com/meshc/meshc/broker"
	"github.com/meshc/meshc/compiler"
	"github.com/meshc/meshc/lang"
	"github.com/meshc/meshc/planner"
	"github.com/meshc/meshc/planner/plan"
	"github.com/meshc/meshc/runtime"
)

// TestMain lets the test binary be the instance binary: the supervisor
// starts it again with an instance plan in its environment.
func TestMain(m *testing.M) {
	if os.Getenv("MESHC_INSTANCE_PLAN") != "" {
		runtime.Main(runtime.Builtins())
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// compile plans a mesh written in the mesh language.
func compile(t *testing.T, src string) *plan.Plan {
	t.Helper()
	f, diags := lang.Parse("test.mesh", []byte(src))
	if diags.HasErrors() {
		t.Fatalf("parse: %v", diags)
	}
	m, diags := compiler.Compile([]*lang.File{f}, nil)
	if diags.HasErrors() {
		t.Fatalf("compile: %v", diags)
	}
	return planner.Plan(m, planner.Options{})
}

func startBroker(t *testing.T) *broker.Broker {
	return brokertest.Start(t, broker.Config{AdminListen: "127.0.0.1:0"})
}

// start runs a plan's mesh with this test binary as its instances.
func start(t *testing.T, p *plan.Plan, b *broker.Broker, stdout *syncbuf.Buffer) *Mesh {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	m, err := New(p, Options{
		PulsarURL: b.URL(), AdminURL: b.AdminURL(), LogDir: t.TempDir(), Stdout: stdout,
		Command:    func(*plan.Component) ([]string, error) { return []string{self}, nil },
		MinBackoff: 50 * time.Millisecond, Grace: 10 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Start(context.Background(), ""); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Stop("") })
	return m
}

func client(t *testing.T, b *broker.Broker) pulsar.Client { return brokertest.Client(t, b.URL()) }

// eventually polls cond until it holds, failing the test after a minute.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// allRunning tells whether every instance of the named component (or of
// all, for "") is running.
func allRunning(m *Mesh, name string) bool {
	st, err := m.Status(name)
	if err != nil {
		return false
	}
	for _, s := range st {
		if s.State != Running {
			return false
		}
	}
	return true
}
