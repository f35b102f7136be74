package runtime

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"
	"github.com/google/go-cmp/cmp"

	"github.com/meshc/meshc/planner/plan"
)

// probe reports what its Context says, uses every part of it, and emits
// the report.
func probe(ctx Context, in Input, emit Emit) error {
	n, err := ctx.IncrCounter("seen", 2)
	if err != nil {
		return err
	}
	got, err := ctx.GetCounter("seen")
	if err != nil {
		return err
	}
	if err := ctx.PutState("last", in.Payload); err != nil {
		return err
	}
	last, ok, err := ctx.GetState("last")
	if err != nil || !ok {
		return fmt.Errorf("GetState after PutState: %v, %v", ok, err)
	}
	if err := ctx.DeleteState("last"); err != nil {
		return err
	}
	_, stillThere, _ := ctx.GetState("last")
	secret, _ := ctx.Secret("token")
	ctx.Logger().Info("probed", "key", ctx.Key())
	ctx.RecordMetric("payload_bytes", float64(len(in.Payload)))
	// By its name in the mesh, the last part of its full name.
	audit, _ := ctx.UserConfig()["audit"].(string)
	if err := ctx.Publish(audit, "audited "+ctx.Key()); err != nil {
		return err
	}
	return emit(map[string]any{
		"topic": ctx.InputTopic(), "id": ctx.MessageID() != "", "key": ctx.Key(), "props": ctx.Properties(),
		"event": ctx.EventTime().UTC().Format(time.RFC3339), "name": ctx.Name(), "tenant": ctx.Tenant(),
		"namespace": ctx.Namespace(), "index": ctx.InstanceIndex(), "config": ctx.UserConfig(), "secret": secret,
		"incr": n, "counter": got, "state": string(last), "deleted": !stillThere, "value": in.Value,
	})
}

// TestContext runs a function that uses the whole Context API.
func TestContext(t *testing.T) {
	b := startBroker(t)
	c := client(t, b)
	in, out, audit, logs := topic("ctx-in"), topic("ctx-out"), topic("audit"), topic("ctx-logs")
	t.Setenv("MESHC_SECRET_TOKEN", "s3cret")
	f := function(fmt.Sprintf("probe%d", topicSeq.Add(1)), "probe", in, out, str, plan.Schema{Type: "json"})
	f.Implementation.Kind = "go"
	f.State, f.LogTopic, f.Config = true, logs, plan.Config{{Key: "audit", Value: strings.TrimPrefix(audit, "persistent://public/default/")}}
	f.Publishes = []plan.Output{{Topic: audit, Schema: str}}
	event := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	p, err := c.CreateProducer(pulsar.ProducerOptions{Topic: in})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Send(context.Background(), &pulsar.ProducerMessage{Payload: []byte("hello"), Key: "k1",
		Properties: map[string]string{"origin": "test"}, EventTime: event}); err != nil {
		t.Fatal(err)
	}
	p.Close()
	listen := freeAddr(t)
	pi := &plan.Instance{APIVersion: plan.APIVersion, Mesh: plan.Mesh{Tenant: "public", Namespace: "default"}, Component: f, Index: 3}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, Options{Plan: pi, PulsarURL: b.URL(), Registry: NewRegistry().Func("probe", probe), Logger: quietLog, Listen: listen})
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()

	var report map[string]any
	if err := json.Unmarshal(collect(t, c, out, 1)[0].Payload(), &report); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"topic": in, "id": true, "key": "k1", "props": map[string]any{"origin": "test"}, "event": "2026-01-02T03:04:05Z",
		"name": f.Name, "tenant": "public", "namespace": "default", "index": 3.0, "config": f.Config.Map(),
		"secret": "s3cret", "incr": 2.0, "counter": 2.0, "state": "hello", "deleted": true, "value": "hello",
	}
	if diff := cmp.Diff(want, report); diff != "" {
		t.Errorf("what the function saw (-want +got):\n%s", diff)
	}
	if got := payloads(collect(t, c, audit, 1)); !cmp.Equal(got, []string{"audited k1"}) {
		t.Errorf("published = %q", got)
	}
	if line := payloads(collect(t, c, logs, 1))[0]; !strings.Contains(line, `msg=probed key=k1`) {
		t.Errorf("log topic line = %q", line)
	}
	resp, err := http.Get("http://" + listen + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{`pulsar_function_user_metric__sum{`, `metric="payload_bytes",name="` + f.Name + `",namespace="default",tenant="public"} 5`, `pulsar_function_processed_successfully_total{`} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %s:\n%s", want, body)
		}
	}
}

// TestReusedContextsKeepMessagesApart: contexts are reused once their
// messages are settled, never while a message's outputs are being sent:
// every output of thousands of batched messages, two a message, carries its
// own input's key, trace and payload.
func TestReusedContextsKeepMessagesApart(t *testing.T) {
	b := startBroker(t)
	c := client(t, b)
	in, out := topic("in"), topic("out")
	const n = 3000
	p, err := c.CreateProducer(pulsar.ProducerOptions{Topic: in})
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for i := range n {
		p.SendAsync(context.Background(), &pulsar.ProducerMessage{Payload: fmt.Appendf(nil, "p%d", i), Key: fmt.Sprint("k", i),
			Properties: map[string]string{TraceProperty: fmt.Sprint("t", i)}}, func(pulsar.MessageID, *pulsar.ProducerMessage, error) {})
		want = append(want, fmt.Sprintf("k%d t%d p%d", i, i, i), fmt.Sprintf("k%d t%d p%d!", i, i, i))
	}
	if err := p.FlushWithCtx(context.Background()); err != nil {
		t.Fatal(err)
	}
	p.Close()
	twice := func(_ Context, in Input, emit Emit) error {
		if err := emit(in.Value); err != nil {
			return err
		}
		return emit(in.Value.(string) + "!")
	}
	runInstance(t, b, function("twice", "twice", in, out, str, str), NewRegistry().Func("twice", twice))
	var got []string
	for _, m := range collect(t, c, out, 2*n) {
		got = append(got, fmt.Sprintf("%s %s %s", m.Key(), m.Properties()[TraceProperty], m.Payload()))
	}
	slices.Sort(want)
	slices.Sort(got)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("outputs (-want +got):\n%s", diff)
	}
}
