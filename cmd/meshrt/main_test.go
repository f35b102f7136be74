package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"

	"github.com/meshc/meshc/broker"
	"github.com/meshc/meshc/internal/brokertest"
	"github.com/meshc/meshc/planner/plan"
)

// TestMain makes the test binary meshrt itself when it is given a plan,
// so that tests and benchmarks run the real program as a process.
func TestMain(m *testing.M) {
	if os.Getenv("MESHC_INSTANCE_PLAN") != "" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// identity is one instance of the identity function from in to out.
func identity(in, out string, g plan.Guarantee) plan.Component {
	sub := "shared"
	if g == plan.EffectivelyOnce {
		sub = "failover"
	}
	str := plan.Schema{Type: "string"}
	return plan.Component{
		Kind: plan.Function, Name: "id", FQFN: "public/default/id",
		Implementation: plan.Implementation{Kind: "builtin", Name: "identity"},
		Inputs:         []plan.Input{{Topic: in, Schema: str}}, Output: &plan.Output{Topic: out, Schema: str},
		Subscription: plan.Subscription{Name: "id", Type: sub, Position: "earliest"},
		Guarantee:    g, Replicas: plan.Replicas{Count: 1},
	}
}

// start runs meshrt as a process for c, serving its endpoints on listen.
func start(t testing.TB, url, listen string, c plan.Component) *exec.Cmd {
	t.Helper()
	data, err := json.Marshal(plan.Instance{APIVersion: plan.APIVersion, Mesh: plan.Mesh{Tenant: "public", Namespace: "default"}, Component: c})
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), "MESHC_INSTANCE_PLAN="+string(data), "MESHC_PULSAR_URL="+url, "MESHC_LISTEN="+listen)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	return cmd
}

// waitReady polls /readyz until the instance is subscribed.
func waitReady(t testing.TB, listen string) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		resp, err := http.Get("http://" + listen + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("instance not ready within 30 s: %v", err)
		}
	}
}

func freeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// produce sends n distinct messages, batched.
func produce(t testing.TB, c pulsar.Client, topic string, n int) {
	t.Helper()
	p, err := c.CreateProducer(pulsar.ProducerOptions{Topic: topic})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	for i := range n {
		p.SendAsync(context.Background(), &pulsar.ProducerMessage{Payload: fmt.Appendf(nil, "m-%d", i)}, func(pulsar.MessageID, *pulsar.ProducerMessage, error) {})
	}
	if err := p.FlushWithCtx(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// count reads a topic from its start until n distinct payloads came and
// then nothing for a second, and returns the messages and distinct
// payloads read.
func count(t testing.TB, c pulsar.Client, topic string, n int) (total, distinct int) {
	t.Helper()
	r, err := c.CreateReader(pulsar.ReaderOptions{Topic: topic, StartMessageID: pulsar.EarliestMessageID()})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	seen := map[string]bool{}
	deadline := time.Now().Add(time.Minute)
	for {
		wait := time.Second
		if len(seen) < n {
			wait = time.Until(deadline)
		}
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		m, err := r.Next(ctx)
		cancel()
		if err != nil {
			return total, len(seen)
		}
		total++
		seen[string(m.Payload())] = true
	}
}

// TestSIGTERMSettlesInFlight stops meshrt with SIGTERM in the middle of a
// backlog: it exits 0 having acknowledged what it sent, so a restarted
// instance goes on without a loss or a duplicate.
func TestSIGTERMSettlesInFlight(t *testing.T) {
	for _, g := range []plan.Guarantee{plan.AtLeastOnce, plan.EffectivelyOnce} {
		t.Run(string(g), func(t *testing.T) {
			const n = 20000
			b := brokertest.Start(t, broker.Config{})
			c := brokertest.Client(t, b.URL())
			in, out := brokertest.Topic("term-in"), brokertest.Topic("term-out")
			produce(t, c, in, n)
			f := identity(in, out, g)
			first := start(t, b.URL(), freeAddr(t), f)
			waitOutputs(t, c, out, n/10)
			first.Process.Signal(syscall.SIGTERM)
			if err := first.Wait(); err != nil {
				t.Fatalf("meshrt after SIGTERM: %v, want exit status 0", err)
			}
			start(t, b.URL(), freeAddr(t), f)
			total, distinct := count(t, c, out, n)
			t.Logf("%s: lost %d, duplicated %d", g, n-distinct, total-distinct)
			if distinct != n || total != n {
				t.Errorf("after SIGTERM and a restart: %d of %d messages, %d written twice; want all, once", distinct, n, total-distinct)
			}
		})
	}
}

// waitOutputs waits until a topic holds n messages.
func waitOutputs(t testing.TB, c pulsar.Client, topic string, n int) {
	t.Helper()
	r, err := c.CreateReader(pulsar.ReaderOptions{Topic: topic, StartMessageID: pulsar.EarliestMessageID()})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for i := range n {
		if _, err := r.Next(ctx); err != nil {
			t.Fatalf("waiting for output %d of %s: %v", i+1, topic, err)
		}
	}
}

// BenchmarkIdleRSS reports the resident memory of an idle meshrt process:
// subscribed, with its producer open and its endpoints served, nothing to
// do.
func BenchmarkIdleRSS(b *testing.B) {
	br := brokertest.Start(b, broker.Config{})
	var rss float64
	for range b.N {
		listen := freeAddr(b)
		cmd := start(b, br.URL(), listen, identity(brokertest.Topic("idle-in"), brokertest.Topic("idle-out"), plan.AtLeastOnce))
		waitReady(b, listen)
		time.Sleep(time.Second) // let start-up garbage be collected
		rss = max(rss, vmRSS(b, cmd.Process.Pid))
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
	}
	b.ReportMetric(rss/(1<<20), "MB-RSS")
}

// vmRSS reads a process's resident set size from /proc, in bytes.
func vmRSS(b *testing.B, pid int) float64 {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, err := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(rest), " kB"))
			if err != nil {
				b.Fatal(err)
			}
			return float64(kb) * 1024
		}
	}
	b.Fatal("no VmRSS in /proc status")
	return 0
}
