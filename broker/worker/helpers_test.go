package worker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"
	"github.com/apache/pulsar-client-go/pulsaradmin"
	"github.com/apache/pulsar-client-go/pulsaradmin/pkg/admin/config"
	"github.com/apache/pulsar-client-go/pulsaradmin/pkg/rest"
	"github.com/apache/pulsar-client-go/pulsaradmin/pkg/utils"

	"github.com/meshc/meshc/broker"
	"github.com/meshc/meshc/compiler"
	"github.com/meshc/meshc/internal/brokertest"
	"github.com/meshc/meshc/lang"
	"github.com/meshc/meshc/planner"
	"github.com/meshc/meshc/planner/plan"
	"github.com/meshc/meshc/runtime"
)

// meshrtDir holds the instance binary, built on first use (not for
// fuzzing) and removed when the tests end.
var (
	meshrtDir  string
	meshrtOnce sync.Once
	meshrtPath string
	meshrtErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if meshrtDir != "" {
		os.RemoveAll(meshrtDir)
	}
	os.Exit(code)
}

// meshrt returns the path of a meshrt built once for the test binary.
func meshrt(t *testing.T) string {
	t.Helper()
	meshrtOnce.Do(func() {
		if meshrtDir, meshrtErr = os.MkdirTemp("", "worker-test-"); meshrtErr != nil {
			return
		}
		meshrtPath = filepath.Join(meshrtDir, "meshrt")
		if out, err := exec.Command("go", "build", "-o", meshrtPath, "github.com/meshc/meshc/cmd/meshrt").CombinedOutput(); err != nil {
			meshrtErr = fmt.Errorf("building meshrt: %v\n%s", err, out)
		}
	})
	if meshrtErr != nil {
		t.Fatal(meshrtErr)
	}
	return meshrtPath
}

// testBackoff is the first wait before a crashed instance runs again.
const testBackoff = 100 * time.Millisecond

// env is an embedded broker with a Functions worker, and clients of both.
type env struct {
	b      *broker.Broker
	w      *Worker
	admin  pulsaradmin.Client // the functions API, v3
	topics pulsaradmin.Client // the topics API, v2
	client pulsar.Client
}

// start runs a broker with a worker on 127.0.0.1; both stop with the test.
func start(t *testing.T, opts Options) *env {
	t.Helper()
	if opts.MinRestartBackoff == 0 {
		opts.MinRestartBackoff = testBackoff
	}
	w, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	b := brokertest.Start(t, broker.Config{AdminListen: "127.0.0.1:0", AdminRoutes: w.Routes()})
	if err := w.Start(b.URL(), b.AdminURL()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	return &env{b: b, w: w, admin: adminClient(t, b.AdminURL()), topics: topicsClient(t, b.AdminURL()), client: brokertest.Client(t, b.URL())}
}

// adminClient is a pulsaradmin client of the worker API, which is v3 as
// pulsarctl and pulsar-admin call it.
func adminClient(t *testing.T, url string) pulsaradmin.Client {
	t.Helper()
	a, err := pulsaradmin.NewClient(&pulsaradmin.Config{WebServiceURL: url, PulsarAPIVersion: config.V3})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func topicsClient(t *testing.T, url string) pulsaradmin.Client {
	t.Helper()
	a, err := pulsaradmin.NewClient(&pulsaradmin.Config{WebServiceURL: url})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// wordcount plans examples/wordcount.mesh.
func wordcount(t *testing.T) *plan.Plan {
	t.Helper()
	src, err := os.ReadFile("../../examples/wordcount.mesh")
	if err != nil {
		t.Fatal(err)
	}
	f, diags := lang.Parse("wordcount.mesh", src)
	if diags.HasErrors() {
		t.Fatalf("parse: %v", diags)
	}
	m, diags := compiler.Compile([]*lang.File{f}, nil)
	if diags.HasErrors() {
		t.Fatalf("compile: %v", diags)
	}
	return planner.Plan(m, planner.Options{})
}

// functionConfig is a FunctionConfig for a component of p, its instance
// plan in the user configuration, as a deployment would make it.
func functionConfig(t *testing.T, p *plan.Plan, name string) *utils.FunctionConfig {
	t.Helper()
	for i := range p.Components {
		c := &p.Components[i]
		if c.Name != name {
			continue
		}
		in, err := json.Marshal(p.Instance(c, 0))
		if err != nil {
			t.Fatal(err)
		}
		goFile := "meshrt"
		fc := &utils.FunctionConfig{Tenant: p.Mesh.Tenant, Namespace: p.Mesh.Namespace, Name: c.Name, Go: &goFile,
			Output: c.Output.Topic, Parallelism: c.Replicas.Count, ProcessingGuarantees: atLeastOnce,
			SubName: c.Subscription.Name, CleanupSubscription: true,
			UserConfig: map[string]any{runtime.UserConfigPlanKey: string(in)}}
		for _, input := range c.Inputs {
			fc.Inputs = append(fc.Inputs, input.Topic)
		}
		return fc
	}
	t.Fatalf("no component %s", name)
	return nil
}

// eventually polls cond until it holds, failing the test after a minute.
func eventually(t *testing.T, what string, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s: %v", what, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// running waits until every instance of a function runs.
func (e *env) running(t *testing.T, tenant, namespace, name string, want int) utils.FunctionStatus {
	t.Helper()
	var st utils.FunctionStatus
	eventually(t, name+" runs", func() error {
		var err error
		st, err = e.admin.Functions().GetFunctionStatus(tenant, namespace, name)
		if err == nil && (st.NumRunning != want || st.NumInstances != want) {
			err = fmt.Errorf("%d of %d running, want %d: %+v", st.NumRunning, st.NumInstances, want, st.Instances)
		}
		return err
	})
	return st
}

// codeOf is the HTTP status of a pulsaradmin error, 0 for another error.
func codeOf(err error) int {
	var re rest.Error
	if errors.As(err, &re) {
		return re.Code
	}
	return 0
}

// receive reads n messages of a subscription from the start of topic.
func receive(t *testing.T, c pulsar.Client, topic string, n int) []string {
	t.Helper()
	cons, err := c.Subscribe(pulsar.ConsumerOptions{Topic: topic, SubscriptionName: "test-reader",
		SubscriptionInitialPosition: pulsar.SubscriptionPositionEarliest})
	if err != nil {
		t.Fatal(err)
	}
	defer cons.Close()
	var got []string
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for len(got) < n {
		msg, err := cons.Receive(ctx)
		if err != nil {
			t.Fatalf("after %v: %v", got, err)
		}
		cons.Ack(msg)
		got = append(got, string(msg.Payload()))
	}
	return got
}

// send writes values to topic.
func send(t *testing.T, c pulsar.Client, topic string, values ...string) {
	t.Helper()
	p, err := c.CreateProducer(pulsar.ProducerOptions{Topic: topic})
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

// pids are the process ids of a function's running instances.
func (e *env) pids(name string) []int {
	e.w.mu.Lock()
	defer e.w.mu.Unlock()
	var out []int
	for _, f := range e.w.funcs {
		if f.rec.Config.Name != name {
			continue
		}
		for _, in := range f.instances {
			pid := 0
			if in != nil {
				in.mu.Lock()
				if in.proc != nil {
					pid = in.proc.Pid
				}
				in.mu.Unlock()
			}
			out = append(out, pid)
		}
	}
	return out
}

func errorf(format string, args ...any) error { return fmt.Errorf(format, args...) }

func topicName(t *testing.T, name string) *utils.TopicName {
	t.Helper()
	tn, err := utils.GetTopicName(name)
	if err != nil {
		t.Fatal(err)
	}
	return tn
}

// startBrokerOnly runs a broker whose admin endpoint serves routes, and
// returns its admin URL.
func startBrokerOnly(t *testing.T, routes []broker.AdminRoute) string {
	t.Helper()
	return brokertest.Start(t, broker.Config{AdminListen: "127.0.0.1:0", AdminRoutes: routes}).AdminURL()
}
