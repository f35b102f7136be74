package codec

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"strings"
	"testing"

	"github.com/bufbuild/protocompile"
	"github.com/google/go-cmp/cmp"
	"github.com/hamba/avro/v2"
	"github.com/meshc/meshc/planner/plan"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/types/descriptorpb"
)

const orderAvro = `{"type":"record","name":"Order","namespace":"shop","fields":[
 {"name":"id","type":"string"},
 {"name":"amount","type":"double"},
 {"name":"qty","type":"int"},
 {"name":"kind","type":{"type":"enum","name":"Kind","symbols":["WEB","SHOP"]}},
 {"name":"tags","type":{"type":"array","items":"string"}},
 {"name":"attrs","type":{"type":"map","values":"long"}},
 {"name":"note","type":["null","string"],"default":null},
 {"name":"next","type":["null","Order"],"default":null}]}`

const eventProto = `syntax = "proto3";
package acme;
message Event {
  string user = 1;
  int64 clicks = 2;
  Kind kind = 3;
  repeated string tags = 4;
  map<string, int32> counts = 5;
  Page page = 6;
  optional double score = 7;
  bytes raw = 8;
  uint64 big = 9;
  enum Kind { VIEW = 0; BUY = 1; }
}
message Page { string url = 1; Page parent = 2; }
`

// eventDescriptor compiles eventProto as the planner does.
func eventDescriptor(t testing.TB) []byte {
	t.Helper()
	c := protocompile.Compiler{Resolver: &protocompile.SourceResolver{Accessor: func(path string) (io.ReadCloser, error) {
		if path != "event.proto" {
			return nil, fs.ErrNotExist
		}
		return io.NopCloser(strings.NewReader(eventProto)), nil
	}}}
	files, err := c.Compile(context.Background(), "event.proto")
	if err != nil {
		t.Fatal(err)
	}
	b, err := proto.Marshal(&descriptorpb.FileDescriptorSet{File: []*descriptorpb.FileDescriptorProto{protodesc.ToFileDescriptorProto(files[0])}})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func avroSchema() plan.Schema { return plan.Schema{Type: "avro", Definition: orderAvro} }

func protoSchema(t testing.TB) plan.Schema {
	return plan.Schema{Type: "protobuf", Message: "acme.Event", Descriptor: eventDescriptor(t)}
}

func TestRecordRoundTrips(t *testing.T) {
	order := map[string]any{"id": "o1", "amount": json.Number("12.5"), "qty": json.Number("3"), "kind": "SHOP",
		"tags": []any{"a", "b"}, "attrs": map[string]any{"x": json.Number("7")}, "note": "gift",
		"next": map[string]any{"id": "o2", "amount": json.Number("1"), "qty": json.Number("1"), "kind": "WEB",
			"tags": []any{}, "attrs": map[string]any{}, "note": nil, "next": nil}}
	event := map[string]any{"user": "ann", "clicks": json.Number("3"), "kind": "BUY", "tags": []any{"x"},
		"counts": map[string]any{"a": json.Number("1")}, "page": map[string]any{"url": "/a", "parent": map[string]any{"url": "/"}},
		"score": json.Number("0.5"), "raw": []byte{1, 2}, "big": json.Number("18446744073709551615")}
	for _, tc := range []struct {
		schema plan.Schema
		value  any
	}{
		{avroSchema(), order},
		{protoSchema(t), event},
	} {
		c := mustNew(t, tc.schema)
		payload, err := c.Encode(tc.value)
		if err != nil {
			t.Fatalf("%s: encode: %v", tc.schema.Type, err)
		}
		got, err := c.Decode(payload)
		if err != nil {
			t.Fatalf("%s: decode: %v", tc.schema.Type, err)
		}
		if diff := cmp.Diff(tc.value, got); diff != "" {
			t.Errorf("%s round trip (-want +got):\n%s", tc.schema.Type, diff)
		}
	}
}

// TestAvroAsPulsarWrites: payloads written by hamba/avro, which
// pulsar-client-go's AvroSchema uses, decode; a Go struct encodes to what
// hamba/avro reads back.
func TestAvroAsPulsarWrites(t *testing.T) {
	type order struct {
		ID     string           `avro:"id" json:"id"`
		Amount float64          `avro:"amount" json:"amount"`
		Qty    int32            `avro:"qty" json:"qty"`
		Kind   string           `avro:"kind" json:"kind"`
		Tags   []string         `avro:"tags" json:"tags"`
		Attrs  map[string]int64 `avro:"attrs" json:"attrs"`
		Note   *string          `avro:"note" json:"note"`
	}
	s := avro.MustParse(orderAvro)
	want := order{ID: "o1", Amount: 2.25, Qty: 4, Kind: "WEB", Tags: []string{"t"}, Attrs: map[string]int64{"k": 1}}
	payload, err := avro.Marshal(s, want)
	if err != nil {
		t.Fatal(err)
	}
	c := mustNew(t, avroSchema())
	v, err := c.Decode(payload)
	if err != nil {
		t.Fatal(err)
	}
	if v.(map[string]any)["amount"] != json.Number("2.25") {
		t.Errorf("decoded %v", v)
	}
	again, err := c.Encode(want)
	if err != nil {
		t.Fatal(err)
	}
	var got order
	if err := avro.Unmarshal(s, again, &got); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("struct through the codec (-want +got):\n%s", diff)
	}
}

func TestBadRecordPayloads(t *testing.T) {
	for _, tc := range []struct {
		schema  plan.Schema
		payload string
		want    string
	}{
		{avroSchema(), "", "invalid Avro"},
		{avroSchema(), "\x04o1", "invalid Avro"},
		{avroSchema(), "\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\xff", "invalid Avro"},
		{avroSchema(), "\x00" + strings.Repeat("\x00", 8) + "\x00\x08\x00\x00\x00\x00\x00extra", "invalid Avro"},
		{avroSchema(), "\x00" + strings.Repeat("\x00", 8) + "\x00\x00\xfe\xff\xff\xff\x0f", "block of"},
		{protoSchema(t), "\x0a\x05ab", "invalid protobuf acme.Event"},
		{protoSchema(t), "\xff", "invalid protobuf acme.Event"},
	} {
		_, err := mustNew(t, tc.schema).Decode([]byte(tc.payload))
		if err == nil || !errors.Is(err, ErrPayload) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s %q: got %v, want ErrPayload containing %q", tc.schema.Type, tc.payload, err, tc.want)
		}
	}
}

func TestRecordEncodeRefusesWrongValues(t *testing.T) {
	for _, tc := range []struct {
		schema plan.Schema
		value  any
		want   string
	}{
		{avroSchema(), map[string]any{"id": "a"}, `missing required field "amount"`},
		{avroSchema(), map[string]any{"id": 1}, "id: want a string"},
		{protoSchema(t), map[string]any{"clicks": "many"}, "clicks: want an integer"},
		{protoSchema(t), map[string]any{"kind": "SELL"}, "kind: want a value of enum acme.Event.Kind"},
		{protoSchema(t), []byte("\xff"), "invalid protobuf"},
	} {
		_, err := mustNew(t, tc.schema).Encode(tc.value)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s %v: got %v, want %q", tc.schema.Type, tc.value, err, tc.want)
		}
	}
}

// FuzzRecords checks that no payload makes the Avro or protobuf codec
// panic or hang, and that what decodes encodes back to the same value.
func FuzzRecords(f *testing.F) {
	order := mustNew(f, avroSchema())
	event := mustNew(f, protoSchema(f))
	for _, v := range []any{
		map[string]any{"id": "o", "amount": 1.5, "qty": 2, "kind": "WEB", "tags": []any{"a"}, "attrs": map[string]any{"k": 3}},
	} {
		b, err := order.Encode(v)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(false, b)
	}
	b, err := event.Encode(map[string]any{"user": "u", "clicks": 2, "tags": []any{"t"}, "page": map[string]any{"url": "/"}})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(true, b)
	f.Fuzz(func(t *testing.T, proto bool, payload []byte) {
		c := order
		if proto {
			c = event
		}
		v, err := c.Decode(payload)
		if err != nil {
			if !errors.Is(err, ErrPayload) {
				t.Fatalf("decode error without ErrPayload: %v", err)
			}
			return
		}
		again, err := c.Encode(v)
		if err != nil {
			t.Fatalf("re-encoding %#v: %v", v, err)
		}
		v2, err := c.Decode(again)
		if err != nil {
			t.Fatalf("decoding re-encoded %q: %v", again, err)
		}
		if !cmp.Equal(v, v2, cmp.Comparer(func(a, b float64) bool { return a == b || a != a && b != b })) {
			t.Fatalf("round trip changed %#v into %#v", v, v2)
		}
	})
}
