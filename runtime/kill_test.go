package runtime

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"

	"github.com/meshc/meshc/planner/plan"
)

// TestMain lets the test binary be an instance: the kill tests run it as a
// real process, to SIGKILL it; or the bare loop BenchmarkInstanceCost
// compares instances with.
func TestMain(m *testing.M) {
	if topics := os.Getenv("MESHC_BARE_LOOP"); topics != "" {
		childProfile(func() { bareMain(topics) })
		os.Exit(0)
	}
	if os.Getenv("MESHC_INSTANCE_PLAN") != "" {
		childProfile(instanceMain)
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// instanceMain is an instance process with the kill tests' functions.
func instanceMain() {
	Main(Builtins().Func("Slow", func(_ Context, in Input, emit Emit) error {
		time.Sleep(500 * time.Microsecond)
		return emit(in.Value)
	}).Func("SlowSplit", func(ctx Context, in Input, emit Emit) error {
		time.Sleep(500 * time.Microsecond)
		return splitWords(ctx, in, emit)
	}).Func("SlowCount", func(ctx Context, in Input, emit Emit) error {
		time.Sleep(500 * time.Microsecond)
		return wordCount(ctx, in, emit)
	}))
}

// TestKillMidStream kills an instance process with SIGKILL while it works
// through a backlog, starts it again, and counts what reached the output:
// under at_least_once nothing is lost (duplicates are allowed); under
// at_most_once nothing is duplicated, and what was acknowledged but not yet
// sent is lost, which the test reports; under effectively_once nothing is
// lost and nothing duplicated.
func TestKillMidStream(t *testing.T) {
	for _, g := range []plan.Guarantee{plan.AtLeastOnce, plan.AtMostOnce, plan.EffectivelyOnce} {
		t.Run(string(g), func(t *testing.T) {
			const n = 2000
			b := startBroker(t)
			c := client(t, b)
			in, out := topic("kill-in"), topic("kill-out")
			want := make([]string, n)
			for i := range want {
				want[i] = fmt.Sprintf("m-%d", i)
			}
			produce(t, c, in, want...)
			seen := countOutputs(t, c, out)
			f := function("slow", "", in, out, str, str)
			f.Implementation = plan.Implementation{Kind: "go", Name: "Slow"}
			f.Guarantee = g
			if g == plan.EffectivelyOnce {
				f.Subscription.Type, f.MaxRetries = "failover", 0
			}

			first := startProcess(t, b.URL(), f)
			waitFor(t, func() bool { return seen.distinct() >= n/4 })
			first.Process.Signal(syscall.SIGKILL)
			first.Wait()
			killedAt := seen.distinct()
			second := startProcess(t, b.URL(), f)
			defer func() { second.Process.Signal(syscall.SIGTERM); second.Wait() }()
			if g != plan.AtMostOnce {
				waitFor(t, func() bool { return seen.distinct() == n })
				seen.quiet(time.Second) // a duplicate would come now
			} else {
				seen.quiet(2 * time.Second)
			}
			lost, dups := n-seen.distinct(), seen.total()-seen.distinct()
			t.Logf("%s: killed after %d of %d outputs; lost %d, duplicated %d", g, killedAt, n, lost, dups)
			if g != plan.AtMostOnce && lost != 0 {
				t.Errorf("%s lost %d messages", g, lost)
			}
			if g != plan.AtLeastOnce && dups != 0 {
				t.Errorf("%s delivered %d messages twice", g, dups)
			}
		})
	}
}

// startProcess runs this test binary as an instance of c.
func startProcess(t *testing.T, url string, c plan.Component) *exec.Cmd {
	t.Helper()
	pi := plan.Instance{APIVersion: plan.APIVersion, Mesh: plan.Mesh{Tenant: "public", Namespace: "default"}, Component: c}
	data, err := json.Marshal(pi)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0]) // no test flags: Main reads its own
	cmd.Env = append(os.Environ(), "MESHC_INSTANCE_PLAN="+string(data), "MESHC_PULSAR_URL="+url)
	cmd.Stderr = os.Stderr // shown with -v or when the test fails
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return cmd
}

// outputs counts what arrives on a topic, by payload.
type outputs struct {
	mu     sync.Mutex
	counts map[string]int
	n      int
	last   time.Time
}

func countOutputs(t *testing.T, c pulsar.Client, topic string) *outputs {
	t.Helper()
	cons, err := c.Subscribe(pulsar.ConsumerOptions{Topic: topic, SubscriptionName: "counter",
		SubscriptionInitialPosition: pulsar.SubscriptionPositionEarliest})
	if err != nil {
		t.Fatal(err)
	}
	o := &outputs{counts: map[string]int{}, last: time.Now()}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			m, err := cons.Receive(ctx)
			if err != nil {
				return
			}
			cons.Ack(m)
			o.mu.Lock()
			o.counts[string(m.Payload())]++
			o.n++
			o.last = time.Now()
			o.mu.Unlock()
		}
	}()
	t.Cleanup(func() { cancel(); <-done; cons.Close() })
	return o
}

func (o *outputs) distinct() int { o.mu.Lock(); defer o.mu.Unlock(); return len(o.counts) }
func (o *outputs) total() int    { o.mu.Lock(); defer o.mu.Unlock(); return o.n }

// quiet waits until nothing has arrived for d.
func (o *outputs) quiet(d time.Duration) {
	for {
		o.mu.Lock()
		idle := time.Since(o.last)
		o.mu.Unlock()
		if idle >= d {
			return
		}
		time.Sleep(d - idle)
	}
}

// waitFor polls cond until it holds, failing the test after a minute.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within a minute")
		}
		time.Sleep(20 * time.Millisecond)
	}
}
