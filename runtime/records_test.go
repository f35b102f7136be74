package runtime

import (
	"context"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"
	"github.com/google/go-cmp/cmp"
	"github.com/hamba/avro/v2"
	"github.com/meshc/meshc/compiler"
	"github.com/meshc/meshc/lang"
	"github.com/meshc/meshc/planner"
	"github.com/meshc/meshc/planner/plan"
	"github.com/meshc/meshc/runtime/codec"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/dynamicpb"
)

const orderAvsc = `{"type":"record","name":"Order","namespace":"shop","fields":[
 {"name":"id","type":"string"},
 {"name":"amount","type":"double"},
 {"name":"country","type":"string"},
 {"name":"note","type":["null","string"],"default":null}]}`

const slimAvsc = `{"type":"record","name":"Slim","namespace":"shop","fields":[
 {"name":"id","type":"string"},
 {"name":"amount","type":"double"}]}`

const eventProto = `syntax = "proto3";
package acme;
message Event {
  string user = 1;
  int64 clicks = 2;
  Kind kind = 3;
  repeated string tags = 4;
  enum Kind { VIEW = 0; BUY = 1; }
}
message Tagged {
  string user = 1;
  int64 clicks = 2;
  string label = 3;
}
`

// recordMesh reads Avro orders through filter and project, and protobuf
// events through filter, then project (into JSON) and a Go function, which
// turns each into a message of another type.
const recordMesh = `mesh records {
  tenant = "public"
  namespace = "default"
}

topic orders avro("order.avsc") external
topic big avro("order.avsc")
topic slim avro("slim.avsc") external
topic events protobuf("event.proto", "acme.Event") external
topic buys protobuf("event.proto", "acme.Event")
topic tagged protobuf("event.proto", "acme.Tagged") external
topic light json<Light> external

type Light { user string, clicks int64 }

function big_orders(orders) -> big {
  use = builtin.filter
  config { where = "amount > 10 and country == \"FR\"" }
  subscription { position = earliest }
}

function slim_orders(big) -> slim {
  use = builtin.project
  config { fields = ["id", "amount"] }
  subscription { position = earliest }
}

function buys_only(events) -> buys {
  use = builtin.filter
  config { where = "kind == \"BUY\" and clicks >= 2" }
  subscription { position = earliest }
}

function light(buys) -> light {
  use = builtin.project
  config { fields = ["user", "clicks"] }
  subscription { position = earliest }
}

function tag(buys) -> tagged {
  use = go("Tag")
  subscription { position = earliest }
}
`

type taggedEvent struct {
	User   string `json:"user"`
	Clicks int64  `json:"clicks"`
	Label  string `json:"label"`
}

// planRecords compiles and plans recordMesh from a folder of its own.
func planRecords(t *testing.T) *plan.Plan {
	t.Helper()
	dir := t.TempDir()
	for name, text := range map[string]string{"order.avsc": orderAvsc, "slim.avsc": slimAvsc, "event.proto": eventProto, "records.mesh": recordMesh} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(dir, "records.mesh")
	f, diags := lang.Parse(path, []byte(recordMesh))
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	m, diags := compiler.Compile([]*lang.File{f}, nil)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	return planner.Plan(m, planner.Options{})
}

func planTopic(t *testing.T, p *plan.Plan, name string) plan.Topic {
	for _, tp := range p.Topics {
		if tp.Name == name {
			return tp
		}
	}
	t.Fatalf("no topic %s in the plan", name)
	return plan.Topic{}
}

// TestAvroAndProtobufMesh: producers using pulsar-client-go's own Avro and
// ProtoNative schemas feed a mesh whose built-ins and Go function read the
// records' fields; consumers declaring the same schemas read the results.
func TestAvroAndProtobufMesh(t *testing.T) {
	p := planRecords(t)
	b := startBroker(t)
	c := client(t, b)

	reg := Builtins()
	reg.Func("Tag", Typed(func(_ Context, e struct {
		User   string `json:"user"`
		Clicks int64  `json:"clicks"`
	}) (taggedEvent, error) {
		return taggedEvent{User: e.User, Clicks: e.Clicks, Label: strings.ToUpper(e.User)}, nil
	}))
	for _, comp := range p.Components {
		runInstance(t, b, comp, reg)
	}

	orders, events := planTopic(t, p, "orders"), planTopic(t, p, "events")
	ap, err := c.CreateProducer(pulsar.ProducerOptions{Topic: orders.FQN, Schema: pulsar.NewAvroSchema(orderAvsc, nil)})
	if err != nil {
		t.Fatal(err)
	}
	defer ap.Close()
	type order struct {
		ID      string  `avro:"id"`
		Amount  float64 `avro:"amount"`
		Country string  `avro:"country"`
		Note    *string `avro:"note"`
	}
	note := "gift"
	for _, o := range []order{{"a", 5, "FR", nil}, {"b", 50, "DE", nil}, {"c", 70, "FR", &note}, {"d", 12.5, "FR", nil}} {
		if _, err := ap.Send(context.Background(), &pulsar.ProducerMessage{Value: o}); err != nil {
			t.Fatal(err)
		}
	}

	md, err := codec.MessageDescriptor(events.Schema.Descriptor, "acme.Event")
	if err != nil {
		t.Fatal(err)
	}
	event := func(user string, clicks int64, kind protoreflect.EnumNumber) *dynamicpb.Message {
		m := dynamicpb.NewMessage(md)
		m.Set(md.Fields().ByName("user"), protoreflect.ValueOfString(user))
		m.Set(md.Fields().ByName("clicks"), protoreflect.ValueOfInt64(clicks))
		m.Set(md.Fields().ByName("kind"), protoreflect.ValueOfEnum(kind))
		return m
	}
	pp, err := c.CreateProducer(pulsar.ProducerOptions{Topic: events.FQN,
		Schema: pulsar.NewProtoNativeSchemaWithMessage(dynamicpb.NewMessage(md), nil)})
	if err != nil {
		t.Fatal(err)
	}
	defer pp.Close()
	for _, e := range []*dynamicpb.Message{event("ann", 3, 1), event("bob", 9, 0), event("cyd", 1, 1), event("dan", 2, 1)} {
		if _, err := pp.Send(context.Background(), &pulsar.ProducerMessage{Value: e}); err != nil {
			t.Fatal(err)
		}
	}

	slimSchema, err := avro.Parse(slimAvsc)
	if err != nil {
		t.Fatal(err)
	}
	var slim []string
	for _, m := range collectWith(t, c, planTopic(t, p, "slim").FQN, pulsar.NewAvroSchema(slimAvsc, nil), 2) {
		var v map[string]any
		if err := avro.Unmarshal(slimSchema, m.Payload(), &v); err != nil {
			t.Fatal(err)
		}
		slim = append(slim, v["id"].(string))
	}
	sort.Strings(slim)
	if diff := cmp.Diff([]string{"c", "d"}, slim); diff != "" {
		t.Errorf("slim orders (-want +got):\n%s", diff)
	}

	light := payloads(collect(t, c, planTopic(t, p, "light").FQN, 2))
	sort.Strings(light)
	if diff := cmp.Diff([]string{`{"clicks":2,"user":"dan"}`, `{"clicks":3,"user":"ann"}`}, light); diff != "" {
		t.Errorf("protobuf events projected into JSON (-want +got):\n%s", diff)
	}

	tagged := planTopic(t, p, "tagged")
	tmd, err := codec.MessageDescriptor(tagged.Schema.Descriptor, "acme.Tagged")
	if err != nil {
		t.Fatal(err)
	}
	var got []taggedEvent
	for _, m := range collectWith(t, c, tagged.FQN, pulsar.NewProtoNativeSchemaWithMessage(dynamicpb.NewMessage(tmd), nil), 2) {
		v := dynamicpb.NewMessage(tmd)
		if err := m.GetSchemaValue(v); err != nil {
			t.Fatal(err)
		}
		f := tmd.Fields()
		got = append(got, taggedEvent{v.Get(f.ByName("user")).String(), v.Get(f.ByName("clicks")).Int(), v.Get(f.ByName("label")).String()})
	}
	sort.Slice(got, func(i, j int) bool { return got[i].User < got[j].User })
	if diff := cmp.Diff([]taggedEvent{{"ann", 3, "ANN"}, {"dan", 2, "DAN"}}, got); diff != "" {
		t.Errorf("tagged events (-want +got):\n%s", diff)
	}
}

// collectWith reads n messages from a topic from its start, with a
// consumer that declares schema.
func collectWith(t *testing.T, c pulsar.Client, topic string, schema pulsar.Schema, n int) []pulsar.Message {
	t.Helper()
	consumer, err := c.Subscribe(pulsar.ConsumerOptions{Topic: topic, SubscriptionName: "test-reader", Schema: schema,
		SubscriptionInitialPosition: pulsar.SubscriptionPositionEarliest})
	if err != nil {
		t.Fatal(err)
	}
	defer consumer.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
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

// TestBadRecordsGoToDeadLetter: a payload that is not an Avro or protobuf
// record of the topic's schema is dead-lettered at once, with the reason.
func TestBadRecordsGoToDeadLetter(t *testing.T) {
	p := planRecords(t)
	b := startBroker(t)
	c := client(t, b)
	for _, tc := range []struct {
		topic, reason string
	}{
		{"orders", "invalid Avro"},
		{"events", "invalid protobuf acme.Event"},
	} {
		in := planTopic(t, p, tc.topic)
		f := function("check-"+tc.topic, "identity", in.FQN, topic("out"), in.Schema, in.Schema)
		f.DeadLetterTopic = topic("dead")
		runInstance(t, b, f, Builtins())
		produce(t, c, in.FQN, "\xff\xff\xff")
		dead := collect(t, c, f.DeadLetterTopic, 1)
		if got := dead[0].Properties()["meshc-error"]; !strings.Contains(got, tc.reason) {
			t.Errorf("%s: dead letter reason %q, want %q", tc.topic, got, tc.reason)
		}
	}
}
