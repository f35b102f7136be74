package runtime

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/meshc/meshc/internal/brokertest"

	"github.com/apache/pulsar-client-go/pulsar"
	"github.com/google/go-cmp/cmp"
	"github.com/meshc/meshc/broker"
	"github.com/meshc/meshc/planner/plan"
)

// These tests run instances with the real pulsar-client-go against the
// embedded broker on 127.0.0.1.

var quietLog = slog.New(slog.NewTextHandler(io.Discard, nil))

var topicSeq atomic.Int64

func topic(name string) string { return brokertest.Topic(name) }

func startBroker(t *testing.T) *broker.Broker { return brokertest.Start(t, broker.Config{}) }

func client(t *testing.T, b *broker.Broker) pulsar.Client { return brokertest.Client(t, b.URL()) }

func function(name, impl, in, out string, inSchema, outSchema plan.Schema) plan.Component {
	c := plan.Component{
		Kind: plan.Function, Name: name, FQFN: "public/default/" + name,
		Implementation: plan.Implementation{Kind: "builtin", Name: impl},
		Inputs:         []plan.Input{{Topic: in, Schema: inSchema}},
		Subscription:   plan.Subscription{Name: name, Type: "shared", Position: "earliest"},
		Guarantee:      plan.AtLeastOnce, Replicas: plan.Replicas{Count: 1}, MaxRetries: 2,
	}
	if out != "" {
		c.Output = &plan.Output{Topic: out, Schema: outSchema}
	}
	return c
}

// runInstance runs a component until the test ends, and reports its error.
func runInstance(t *testing.T, b *broker.Broker, c plan.Component, reg *Registry) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	in := &plan.Instance{APIVersion: plan.APIVersion, Mesh: plan.Mesh{Name: "m", Tenant: "public", Namespace: "default"}, Component: c}
	go func() { done <- Run(ctx, Options{Plan: in, PulsarURL: b.URL(), Registry: reg, Logger: quietLog}) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("instance %s: %v", c.Name, err)
			}
		case <-time.After(20 * time.Second):
			t.Errorf("instance %s did not stop", c.Name)
		}
	})
}

func produce(t *testing.T, c pulsar.Client, topic string, payloads ...string) {
	t.Helper()
	p, err := c.CreateProducer(pulsar.ProducerOptions{Topic: topic})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	for i, s := range payloads {
		if _, err := p.Send(context.Background(), &pulsar.ProducerMessage{Payload: []byte(s), Key: fmt.Sprint(i)}); err != nil {
			t.Fatal(err)
		}
	}
}

// collect reads n messages from a topic from its start.
func collect(t *testing.T, c pulsar.Client, topic string, n int) []pulsar.Message {
	t.Helper()
	consumer, err := c.Subscribe(pulsar.ConsumerOptions{Topic: topic, SubscriptionName: "test-reader",
		SubscriptionInitialPosition: pulsar.SubscriptionPositionEarliest})
	if err != nil {
		t.Fatal(err)
	}
	defer consumer.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var out []pulsar.Message
	for len(out) < n {
		msg, err := consumer.Receive(ctx)
		if err != nil {
			t.Fatalf("received %d of %d messages from %s: %v", len(out), n, topic, err)
		}
		consumer.Ack(msg)
		out = append(out, msg)
	}
	return out
}

func payloads(msgs []pulsar.Message) []string {
	out := make([]string, len(msgs))
	for i, m := range msgs {
		out[i] = string(m.Payload())
	}
	return out
}

var (
	str         = plan.Schema{Type: "string"}
	orderSchema = plan.Schema{Type: "json", Definition: `{"type":"record","name":"Order","fields":[{"name":"id","type":"string"},{"name":"amount","type":"double"}]}`}
)

func TestFunctionProcessesInOrder(t *testing.T) {
	b := startBroker(t)
	c := client(t, b)
	in, out := topic("in"), topic("out")
	var sent []string
	for i := range 500 {
		sent = append(sent, fmt.Sprintf("message %d", i))
	}
	produce(t, c, in, sent...)
	runInstance(t, b, function("upper", "upper", in, out, str, str), Builtins())
	got := payloads(collect(t, c, out, len(sent)))
	for i := range sent {
		sent[i] = strings.ToUpper(sent[i])
	}
	if diff := cmp.Diff(sent, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestBadPayloadGoesToDeadLetterAtOnce(t *testing.T) {
	b := startBroker(t)
	c := client(t, b)
	in, out, dlq := topic("orders"), topic("big"), topic("failed")
	f := function("big", "filter", in, out, orderSchema, orderSchema)
	f.Config = plan.Config{{Key: "where", Value: "amount > 10"}}
	f.DeadLetterTopic = dlq
	produce(t, c, in, `{"id":"a","amount":5}`, `not json`, `{"id":"b"}`, `{"id":"c","amount":50}`)
	runInstance(t, b, f, Builtins())

	if got := payloads(collect(t, c, out, 1)); !cmp.Equal(got, []string{`{"amount":50,"id":"c"}`}) {
		t.Errorf("output = %v", got)
	}
	dead := collect(t, c, dlq, 2)
	if got := payloads(dead); !cmp.Equal(got, []string{`not json`, `{"id":"b"}`}) {
		t.Errorf("dead letters = %v", got)
	}
	if reason := dead[1].Properties()["meshc-error"]; !strings.Contains(reason, `missing required field "amount"`) {
		t.Errorf("dead letter reason = %q", reason)
	}
}

// TestDefaultDeadLetterPerInput: without a dead_letter topic, as in Pulsar,
// each input's failures go to INPUT-SUBSCRIPTION-DLQ.
func TestDefaultDeadLetterPerInput(t *testing.T) {
	b := startBroker(t)
	c := client(t, b)
	a, z, out := topic("a"), topic("z"), topic("out")
	f := function("dl", "identity", a, out, orderSchema, orderSchema)
	f.Inputs = append(f.Inputs, plan.Input{Topic: z, Schema: orderSchema})
	produce(t, c, a, `bad a`)
	produce(t, c, z, `bad z`)
	runInstance(t, b, f, Builtins())
	for in, want := range map[string]string{a: "bad a", z: "bad z"} {
		if got := payloads(collect(t, c, in+"-dl-DLQ", 1)); !cmp.Equal(got, []string{want}) {
			t.Errorf("%s-dl-DLQ holds %v, want [%s]", in, got, want)
		}
	}
}

func TestFailingMessageIsRetriedThenDeadLettered(t *testing.T) {
	b := startBroker(t)
	c := client(t, b)
	in, dlq := topic("jobs"), topic("jobs-dlq")
	var calls atomic.Int64
	reg := NewRegistry().Func("flaky", func(_ Context, in Input, _ Emit) error {
		calls.Add(1)
		if in.Value == "poison" {
			return errors.New("cannot handle poison")
		}
		return nil
	})
	f := function("flaky", "flaky", in, "", str, plan.Schema{})
	f.DeadLetterTopic, f.MaxRetries = dlq, 2
	produce(t, c, in, "ok", "poison", "ok too")
	runInstance(t, b, f, reg)
	dead := collect(t, c, dlq, 1)
	if string(dead[0].Payload()) != "poison" || !strings.Contains(dead[0].Properties()["meshc-error"], "cannot handle poison") {
		t.Errorf("dead letter = %q %v", dead[0].Payload(), dead[0].Properties())
	}
	if n := calls.Load(); n != 2+3 {
		t.Errorf("function called %d times, want 2 good + 3 deliveries of the poison message", n)
	}
}

func TestGeneratorSource(t *testing.T) {
	b := startBroker(t)
	c := client(t, b)
	out := topic("sentences")
	src := plan.Component{Kind: plan.Source, Name: "gen", Implementation: plan.Implementation{Kind: "builtin", Name: "generator"},
		Output: &plan.Output{Topic: out, Schema: str}, Config: plan.Config{{Key: "count", Value: int64(5)}, {Key: "lines", Value: []any{"a", "b"}}}}
	in := &plan.Instance{APIVersion: plan.APIVersion, Mesh: plan.Mesh{Tenant: "public", Namespace: "default"}, Component: src}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	// A source that is done returns, with everything it emitted stored.
	if err := Run(ctx, Options{Plan: in, PulsarURL: b.URL(), Registry: Builtins(), Logger: quietLog}); err != nil {
		t.Fatal(err)
	}
	if got := payloads(collect(t, c, out, 5)); !cmp.Equal(got, []string{"a", "b", "a", "b", "a"}) {
		t.Errorf("got %v", got)
	}
}

// TestSourceStaysWhenDone: under a scheduler a finished source idles until
// stopped, instead of exiting to be restarted and produce it all again.
func TestSourceStaysWhenDone(t *testing.T) {
	b := startBroker(t)
	c := client(t, b)
	out := topic("once")
	src := plan.Component{Kind: plan.Source, Name: "gen", Implementation: plan.Implementation{Kind: "builtin", Name: "generator"},
		Output: &plan.Output{Topic: out, Schema: str}, Config: plan.Config{{Key: "count", Value: int64(3)}, {Key: "lines", Value: []any{"a"}}}}
	in := &plan.Instance{APIVersion: plan.APIVersion, Mesh: plan.Mesh{Tenant: "public", Namespace: "default"}, Component: src}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, Options{Plan: in, PulsarURL: b.URL(), Registry: Builtins(), Logger: quietLog, StayWhenDone: true})
	}()
	collect(t, c, out, 3)
	select {
	case err := <-done:
		t.Fatalf("the source returned (%v) before it was stopped", err)
	case <-time.After(200 * time.Millisecond):
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// TestStateSurvivesRestart counts words, stops the instance, starts it
// again, and checks the counts go on from the stored state.
func TestStateSurvivesRestart(t *testing.T) {
	b := startBroker(t)
	c := client(t, b)
	in, out := topic("words"), topic("counts")
	countSchema := plan.Schema{Type: "json", Definition: `{"type":"record","name":"Count","fields":[{"name":"word","type":"string"},{"name":"count","type":"long"}]}`}
	f := function("count", "word_count", in, out, str, countSchema)
	f.Name = fmt.Sprintf("count%d", topicSeq.Add(1))
	f.State = true
	run := func(words ...string) {
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		pi := &plan.Instance{APIVersion: plan.APIVersion, Mesh: plan.Mesh{Tenant: "public", Namespace: "default"}, Component: f}
		go func() {
			done <- Run(ctx, Options{Plan: pi, PulsarURL: b.URL(), Registry: Builtins(), Logger: quietLog})
		}()
		produce(t, c, in, words...)
		waitOutputs(t, c, out, len(words))
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	run("a", "b", "a")
	run("a", "b")
	got := payloads(collect(t, c, out, 5))
	want := []string{`{"count":1,"word":"a"}`, `{"count":1,"word":"b"}`, `{"count":2,"word":"a"}`, `{"count":3,"word":"a"}`, `{"count":2,"word":"b"}`}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// TestStateFollowsOtherWriters: two instances of one stateful function
// both run, and a key moves from one to the other (here: each reads its
// own input topic) once the first has stored its count, as key_shared
// moves a key only once the messages before are acknowledged: the second
// goes on from that count.
func TestStateFollowsOtherWriters(t *testing.T) {
	b := startBroker(t)
	c := client(t, b)
	in1, in2, out := topic("words1"), topic("words2"), topic("counts")
	countSchema := plan.Schema{Type: "json", Definition: `{"type":"record","name":"Count","fields":[{"name":"word","type":"string"},{"name":"count","type":"long"}]}`}
	name := fmt.Sprintf("count%d", topicSeq.Add(1))
	for _, in := range []string{in1, in2} {
		f := function(name, "word_count", in, out, str, countSchema)
		f.State, f.Replicas = true, plan.Replicas{Count: 2}
		f.Subscription.Name = "s-" + in
		runInstance(t, b, f, Builtins())
	}
	produce(t, c, in1, "a", "a", "a")
	waitFor(t, func() bool {
		e, _, _ := QueryState(context.Background(), c, "public", "default", name, "a")
		return e.Number == 3
	})
	produce(t, c, in2, "a")
	got := payloads(collect(t, c, out, 4))
	want := []string{`{"count":1,"word":"a"}`, `{"count":2,"word":"a"}`, `{"count":3,"word":"a"}`, `{"count":4,"word":"a"}`}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// TestStateTakesUpPutState: a running instance's store takes up a value
// written with PutState.
func TestStateTakesUpPutState(t *testing.T) {
	c := client(t, startBroker(t))
	ctx := context.Background()
	s, err := openState(ctx, c, stateTopic("public", "default", "f"), true, false)
	if err != nil {
		t.Fatal(err)
	}
	defer s.close()
	if err := PutState(ctx, c, "public", "default", "f", StateEntry{Key: "fox", Counter: true, Number: 41}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return counter(s.get("c/fox")) == 41 })
}

// waitOutputs waits until a topic holds at least n more messages than
// were seen by earlier calls for it.
var seen = map[string]int{}

func waitOutputs(t *testing.T, c pulsar.Client, topic string, n int) {
	t.Helper()
	seen[topic] += n
	reader, err := c.CreateReader(pulsar.ReaderOptions{Topic: topic, StartMessageID: pulsar.EarliestMessageID()})
	if err != nil {
		t.Fatal(err)
	}
	defer reader.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for i := 0; i < seen[topic]; i++ {
		if _, err := reader.Next(ctx); err != nil {
			t.Fatalf("waiting for output %d on %s: %v", i+1, topic, err)
		}
	}
}
