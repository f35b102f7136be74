package broker

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"slices"
	"strings"
	"testing"

	"github.com/apache/pulsar-client-go/pulsar"
	"github.com/apache/pulsar-client-go/pulsaradmin/pkg/utils"
	"github.com/bufbuild/protocompile"
	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/dynamicpb"
)

const (
	recA         = `{"type":"record","name":"R","fields":[{"name":"a","type":"string"}]}`
	recAB        = `{"type":"record","name":"R","fields":[{"name":"a","type":"string"},{"name":"b","type":"int","default":0}]}`
	recAC        = `{"type":"record","name":"R","fields":[{"name":"a","type":"string"},{"name":"c","type":"int"}]}`
	recNone      = `{"type":"record","name":"R","fields":[]}`
	recBRequired = `{"type":"record","name":"R","fields":[{"name":"b","type":"int"}]}`
	recADefault  = `{"type":"record","name":"R","fields":[{"name":"a","type":"string","default":""}]}`
)

// TestSchemaStrategies: each of Pulsar's compatibility strategies, set on
// a namespace through pulsaradmin, decides which producers' Avro schemas a
// topic takes after the ones it holds; a refused producer gets Pulsar's
// IncompatibleSchema.
func TestSchemaStrategies(t *testing.T) {
	b := startBroker(t, Config{AdminListen: "127.0.0.1:0"})
	c := newClient(t, b)
	admin := newAdmin(t, b)
	for _, tc := range []struct {
		strategy utils.SchemaCompatibilityStrategy
		held     []string
		next     string
		refused  bool
	}{
		{utils.SchemaCompatibilityStrategyUndefined, []string{recA}, recAB, false}, // FULL by default
		{utils.SchemaCompatibilityStrategyUndefined, []string{recA}, recAC, true},
		{utils.SchemaCompatibilityStrategyBackward, []string{recA}, recAC, true},
		{utils.SchemaCompatibilityStrategyBackward, []string{recA}, recNone, false},
		{utils.SchemaCompatibilityStrategyForward, []string{recA}, recAC, false},
		{utils.SchemaCompatibilityStrategyForward, []string{recA}, recNone, true},
		{utils.SchemaCompatibilityStrategyFull, []string{recA}, recAB, false},
		{utils.SchemaCompatibilityStrategyFull, []string{recA}, recNone, true},
		{utils.SchemaCompatibilityStrategyBackward, []string{recA, recAB}, recBRequired, false},
		{utils.SchemaCompatibilityStrategyBackwardTransitive, []string{recA, recAB}, recBRequired, true},
		{utils.SchemaCompatibilityStrategyForward, []string{recA, recADefault}, recNone, false},
		{utils.SchemaCompatibilityStrategyForwardTransitive, []string{recA, recADefault}, recNone, true},
		{utils.SchemaCompatibilityStrategyFullTransitive, []string{recA, recAB}, recAB, false},
		{utils.SchemaCompatibilityStrategyAlwaysCompatible, []string{recA}, recBRequired, false},
		{utils.SchemaCompatibilityStrategyAlwaysIncompatible, []string{recA}, recAB, true},
		{utils.SchemaCompatibilityStrategyAlwaysIncompatible, []string{recA}, recA, false},
	} {
		ns := fmt.Sprintf("s%d", topicSeq.Add(1))
		if err := admin.Namespaces().SetSchemaCompatibilityStrategy(*mustNamespace(t, "public/"+ns), tc.strategy); err != nil {
			t.Fatal(err)
		}
		topic := "persistent://public/" + ns + "/t"
		for _, def := range tc.held {
			p := mustProducer(t, c, pulsar.ProducerOptions{Topic: topic, Schema: pulsar.NewAvroSchema(def, nil)})
			p.Close()
		}
		p, err := c.CreateProducer(pulsar.ProducerOptions{Topic: topic, Schema: pulsar.NewAvroSchema(tc.next, nil)})
		if err == nil {
			p.Close()
		}
		if refused := err != nil; refused != tc.refused {
			t.Errorf("%s, holding %d versions, %s: refused = %v (%v), want %v", tc.strategy, len(tc.held), tc.next, refused, err, tc.refused)
		}
		if err != nil && !strings.Contains(err.Error(), "IncompatibleSchema") {
			t.Errorf("%s: refusal %v does not say IncompatibleSchema", tc.strategy, err)
		}
	}
	got, err := admin.Namespaces().GetSchemaCompatibilityStrategy(*mustNamespace(t, "public/default"))
	if err != nil || got != utils.SchemaCompatibilityStrategyUndefined {
		t.Errorf("default namespace strategy = %v, %v; want UNDEFINED", got, err)
	}
}

func mustNamespace(t *testing.T, s string) *utils.NameSpaceName {
	t.Helper()
	n, err := utils.GetNameSpaceName(strings.Split(s, "/")[0], strings.Split(s, "/")[1])
	if err != nil {
		t.Fatal(err)
	}
	return n
}

const eventV1 = `syntax = "proto3";
package acme;
message Event { string user = 1; int64 clicks = 2; }
`

// protoMessage compiles a .proto text and returns its message acme.Event.
func protoMessage(t *testing.T, text string) protoreflect.MessageDescriptor {
	t.Helper()
	c := protocompile.Compiler{Resolver: &protocompile.SourceResolver{Accessor: func(path string) (io.ReadCloser, error) {
		if path != "event.proto" {
			return nil, fs.ErrNotExist
		}
		return io.NopCloser(strings.NewReader(text)), nil
	}}}
	files, err := c.Compile(context.Background(), "event.proto")
	if err != nil {
		t.Fatal(err)
	}
	return files[0].Messages().ByName("Event")
}

// TestProtoNativeSchemas: PROTOBUF_NATIVE schemas from pulsar-client-go's
// ProtoNativeSchema, by message: a field added is compatible, a field
// whose type changes is not, nor is another root message.
func TestProtoNativeSchemas(t *testing.T) {
	b := startBroker(t, Config{})
	c := newClient(t, b)
	schema := func(text string) pulsar.Schema {
		return pulsar.NewProtoNativeSchemaWithMessage(dynamicpb.NewMessage(protoMessage(t, text)), nil)
	}
	for _, tc := range []struct {
		name, next string
		refused    bool
	}{
		{"same", eventV1, false},
		{"field added", strings.Replace(eventV1, "}", " string page = 3; }", 1), false},
		{"field type changed", strings.Replace(eventV1, "int64 clicks", "string clicks", 1), true},
		{"other root message", strings.Replace(eventV1, "Event", "Event2 {} message Event", 1), true},
	} {
		topic := uniqueTopic("proto")
		mustProducer(t, c, pulsar.ProducerOptions{Topic: topic, Schema: schema(eventV1)})
		next := schema(tc.next)
		if tc.name == "other root message" {
			md := protoMessage(t, tc.next).ParentFile().Messages().ByName("Event2")
			next = pulsar.NewProtoNativeSchemaWithMessage(dynamicpb.NewMessage(md), nil)
		}
		p, err := c.CreateProducer(pulsar.ProducerOptions{Topic: topic, Schema: next})
		if err == nil {
			p.Close()
		}
		if refused := err != nil; refused != tc.refused {
			t.Errorf("%s: refused = %v (%v), want %v", tc.name, refused, err, tc.refused)
		}
	}
}

// TestConsumerSchemas: as in Pulsar, a consumer's schema is checked against
// the topic's; a topic without one takes the consumer's while it is idle,
// and refuses it once it has messages.
func TestConsumerSchemas(t *testing.T) {
	b := startBroker(t, Config{})
	c := newClient(t, b)
	sub := func(topic, def string) error {
		cons, err := c.Subscribe(pulsar.ConsumerOptions{Topic: topic, SubscriptionName: "s", Schema: pulsar.NewAvroSchema(def, nil)})
		if err == nil {
			cons.Close()
		}
		return err
	}
	idle := uniqueTopic("idle")
	if err := sub(idle, recA); err != nil {
		t.Fatalf("idle topic refused the consumer's schema: %v", err)
	}
	if _, err := c.CreateProducer(pulsar.ProducerOptions{Topic: idle, Schema: pulsar.NewAvroSchema(recAC, nil)}); err == nil {
		t.Error("the consumer's schema was not registered: an incompatible producer was taken")
	}
	if err := sub(idle, recAB); err != nil {
		t.Errorf("a consumer reading the topic's data was refused: %v", err)
	}
	if err := sub(idle, recBRequired); err == nil {
		t.Error("a consumer that cannot read the topic's data was taken")
	}

	written := uniqueTopic("written")
	p := mustProducer(t, c, pulsar.ProducerOptions{Topic: written})
	if _, err := p.Send(testCtx(t), &pulsar.ProducerMessage{Payload: []byte("x")}); err != nil {
		t.Fatal(err)
	}
	if err := sub(written, recA); err == nil || !strings.Contains(err.Error(), "IncompatibleSchema") {
		t.Errorf("a consumer's schema on a topic with messages and no schema: %v, want IncompatibleSchema", err)
	}
}

// TestSchemaAdmin: pulsaradmin's Schemas() posts, reads, tests and deletes
// a topic's schema versions.
func TestSchemaAdmin(t *testing.T) {
	b := startBroker(t, Config{AdminListen: "127.0.0.1:0"})
	admin := newAdmin(t, b).Schemas()
	topic := uniqueTopic("schema-admin")
	if _, err := admin.GetAllSchemas(topic); err == nil || !strings.Contains(err.Error(), "404") {
		t.Errorf("schemas of a topic that does not exist: %v, want 404", err)
	}
	if ok, err := admin.TestCompatibilityWithPostSchemaPayload(topic, utils.PostSchemaPayload{SchemaType: "AVRO", Schema: recA}); err != nil || !ok.IsCompatibility {
		t.Errorf("a topic that does not exist takes any schema: %v, %v", ok, err)
	}
	if slices.Contains(b.Topics(), topic) {
		t.Error("reading a schema created the topic")
	}
	for _, def := range []string{recA, recAB, recA} {
		if err := admin.CreateSchemaByPayload(topic, utils.PostSchemaPayload{SchemaType: "AVRO", Schema: def}); err != nil {
			t.Fatal(err)
		}
	}
	if err := admin.CreateSchemaByPayload(topic, utils.PostSchemaPayload{SchemaType: "AVRO", Schema: recAC}); err == nil || !strings.Contains(err.Error(), "409") {
		t.Errorf("incompatible schema posted: %v, want 409", err)
	}
	info, err := admin.GetSchemaInfoWithVersion(topic)
	if err != nil {
		t.Fatal(err)
	}
	if info.Version != 1 || info.SchemaInfo.Type != "AVRO" || string(info.SchemaInfo.Schema) != recAB {
		t.Errorf("latest schema = %d %s %s", info.Version, info.SchemaInfo.Type, info.SchemaInfo.Schema)
	}
	all, err := admin.GetAllSchemas(topic)
	if err != nil || len(all) != 2 {
		t.Fatalf("all schemas = %v, %v", all, err)
	}
	v0, err := admin.GetSchemaInfoByVersion(topic, 0)
	if err != nil || string(v0.Schema) != recA {
		t.Errorf("version 0 = %v, %v", v0, err)
	}
	if v, err := admin.GetVersionByPayload(topic, utils.PostSchemaPayload{SchemaType: "AVRO", Schema: recAB}); err != nil || v != 1 {
		t.Errorf("version of the second schema = %d, %v", v, err)
	}
	var got []bool
	for _, def := range []string{recAB, recNone, recAC} {
		ok, err := admin.TestCompatibilityWithPostSchemaPayload(topic, utils.PostSchemaPayload{SchemaType: "AVRO", Schema: def})
		if err != nil {
			t.Fatal(err)
		}
		if ok.SchemaCompatibilityStrategy != utils.SchemaCompatibilityStrategyFull {
			t.Errorf("strategy = %s, want FULL", ok.SchemaCompatibilityStrategy)
		}
		got = append(got, ok.IsCompatibility)
	}
	if diff := cmp.Diff([]bool{true, false, false}, got); diff != "" {
		t.Errorf("compatibility (-want +got):\n%s", diff)
	}
	if err := admin.DeleteSchema(topic); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.GetSchemaInfo(topic); err == nil {
		t.Error("schema still there after delete")
	}
	// After a deletion any schema is taken, as the first.
	if err := admin.CreateSchemaByPayload(topic, utils.PostSchemaPayload{SchemaType: "STRING"}); err != nil {
		t.Fatal(err)
	}
	info, err = admin.GetSchemaInfoWithVersion(topic)
	if err != nil || info.Version != 3 || info.SchemaInfo.Type != "STRING" {
		t.Errorf("after delete and post: %+v, %v", info, err)
	}
}

// TestSchemaRegistryRestart: with a data directory, a namespace's strategy
// and a topic's versions survive a restart.
func TestSchemaRegistryRestart(t *testing.T) {
	dir := t.TempDir()
	topic := "persistent://public/kept/t"
	b1 := startBroker(t, Config{DataDir: dir, AdminListen: "127.0.0.1:0"})
	a1 := newAdmin(t, b1)
	if err := a1.Namespaces().SetSchemaCompatibilityStrategy(*mustNamespace(t, "public/kept"), utils.SchemaCompatibilityStrategyBackward); err != nil {
		t.Fatal(err)
	}
	for _, def := range []string{recA, recNone} {
		if err := a1.Schemas().CreateSchemaByPayload(topic, utils.PostSchemaPayload{SchemaType: "AVRO", Schema: def}); err != nil {
			t.Fatal(err)
		}
	}
	b1.Close()

	b2 := startBroker(t, Config{DataDir: dir, AdminListen: "127.0.0.1:0"})
	a2 := newAdmin(t, b2)
	if s, err := a2.Namespaces().GetSchemaCompatibilityStrategy(*mustNamespace(t, "public/kept")); err != nil || s != utils.SchemaCompatibilityStrategyBackward {
		t.Errorf("strategy after restart = %v, %v", s, err)
	}
	all, err := a2.Schemas().GetAllSchemas(topic)
	if err != nil || len(all) != 2 || string(all[1].SchemaInfo.Schema) != recNone {
		t.Fatalf("versions after restart = %v, %v", all, err)
	}
	// BACKWARD still applies: recBRequired cannot read data written with recNone.
	if err := a2.Schemas().CreateSchemaByPayload(topic, utils.PostSchemaPayload{SchemaType: "AVRO", Schema: recBRequired}); err == nil {
		t.Error("a version BACKWARD refuses was taken after the restart")
	}
}
