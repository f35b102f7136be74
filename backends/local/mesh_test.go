package local

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"
	"github.com/google/go-cmp/cmp"

	"github.com/meshc/meshc/broker"
	"github.com/meshc/meshc/internal/syncbuf"
)

func TestOrder(t *testing.T) {
	tests := []struct {
		name, mesh string
		want       []string
	}{
		{"chain", `mesh m {}
topic a string
topic b string
topic c string
source gen -> a { use = builtin.generator config { lines = ["x"] } }
function up(b) -> c { use = builtin.upper }
function split(a) -> b { use = builtin.split_words }
sink out(c) { use = builtin.stdout }`, []string{"gen", "split", "up", "out"}},
		{"dead letters feed a sink", `mesh m {}
topic a string external
topic bad string
topic b string
function f(a) -> b { use = builtin.upper max_retries = 1 dead_letter = bad }
sink rejects(bad) { use = builtin.stdout }
sink good(b) { use = builtin.stdout }`, []string{"f", "good", "rejects"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, Order(compile(t, tt.mesh))); diff != "" {
				t.Errorf("order (-want +got):\n%s", diff)
			}
		})
	}
}

// TestRunToTheEnd runs a mesh whose source finishes, waits for it, and
// shuts down: every message reaches the sink before the sink stops.
func TestRunToTheEnd(t *testing.T) {
	b := startBroker(t)
	var out syncbuf.Buffer
	m := start(t, compile(t, `mesh m {}
topic lines string
topic shouts string
source gen -> lines { use = builtin.generator config { lines = ["a", "b"] count = 40 } }
function up(lines) -> shouts { use = builtin.upper }
sink print(shouts) { use = builtin.stdout }`), b, &out)
	eventually(t, "the source is done", m.SourcesDone)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	m.Shutdown(ctx)
	got := strings.Fields(out.String())
	slices.Sort(got)
	want := slices.Concat(slices.Repeat([]string{"A"}, 20), slices.Repeat([]string{"B"}, 20))
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("sink output (-want +got):\n%s", diff)
	}
	st, _ := m.Status("")
	for _, s := range st {
		if s.State != Stopped && s.State != Done {
			t.Errorf("%s-%d is %s after shutdown", s.Component, s.Index, s.State)
		}
	}
}

// TestStopStartOneFunction stops one function while the rest keeps
// running; what is written meanwhile waits in its topic.
func TestStopStartOneFunction(t *testing.T) {
	b := startBroker(t)
	var out syncbuf.Buffer
	m := start(t, compile(t, `mesh m {}
topic in string external
topic out string
function up(in) -> out { use = builtin.upper }
sink print(out) { use = builtin.stdout }`), b, &out)
	eventually(t, "all instances run", func() bool { return allRunning(m, "") })
	if err := m.Stop("up"); err != nil {
		t.Fatal(err)
	}
	if st, _ := m.Status("up"); st[0].State != Stopped {
		t.Fatalf("up is %s after Stop, want stopped", st[0].State)
	}
	produce(t, b, "persistent://public/default/in", "while", "stopped")
	if err := m.Start(context.Background(), "up"); err != nil {
		t.Fatal(err)
	}
	eventually(t, "both messages are printed", func() bool { return strings.Count(out.String(), "\n") == 2 })
	if diff := cmp.Diff("WHILE\nSTOPPED\n", out.String()); diff != "" {
		t.Errorf("output (-want +got):\n%s", diff)
	}
	if _, err := m.Status("nope"); err == nil || !strings.Contains(err.Error(), "has no function, source or sink \"nope\"") {
		t.Errorf("Status(nope) = %v", err)
	}
}

// TestCrashRestartsWithoutLoss kills a function's process with SIGKILL in
// the middle of a stream: the supervisor restarts it, and under
// at_least_once every message still comes out (some perhaps twice).
func TestCrashRestartsWithoutLoss(t *testing.T) {
	b := startBroker(t)
	var out syncbuf.Buffer
	m := start(t, compile(t, `mesh m { defaults { guarantee = at_least_once } }
topic in string external
topic out string
function relay(in) -> out { use = builtin.identity }
sink print(out) { use = builtin.stdout }`), b, &out)
	eventually(t, "all instances run", func() bool { return allRunning(m, "") })

	const n = 400
	c := client(t, b)
	p, err := c.CreateProducer(pulsar.ProducerOptions{Topic: "persistent://public/default/in"})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	var want []string
	for i := range n {
		msg := fmt.Sprintf("m%03d", i)
		want = append(want, msg)
		if _, err := p.Send(context.Background(), &pulsar.ProducerMessage{Payload: []byte(msg)}); err != nil {
			t.Fatal(err)
		}
		if i == n/3 {
			eventually(t, "some messages are through", func() bool { return strings.Count(out.String(), "\n") > 10 })
			st, _ := m.Status("relay")
			if err := syscall.Kill(st[0].PID, syscall.SIGKILL); err != nil {
				t.Fatalf("killing relay-0 (pid %d): %v", st[0].PID, err)
			}
		}
	}
	eventually(t, "every message is through", func() bool {
		got := slices.Compact(slices.Sorted(slices.Values(strings.Fields(out.String()))))
		return slices.Equal(got, want)
	})
	st, _ := m.Status("relay")
	if st[0].Restarts < 1 || !strings.Contains(st[0].LastExit, "killed") {
		t.Errorf("relay-0: restarts %d, last exit %q; want a restart after being killed", st[0].Restarts, st[0].LastExit)
	}
	eventually(t, "relay runs again", func() bool { return allRunning(m, "relay") })
}

func produce(t *testing.T, b *broker.Broker, topic string, values ...string) {
	t.Helper()
	p, err := client(t, b).CreateProducer(pulsar.ProducerOptions{Topic: topic})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	for _, v := range values {
		if _, err := p.Send(context.Background(), &pulsar.ProducerMessage{Payload: []byte(v)}); err != nil {
			t.Fatal(err)
		}
	}
}
