package codec

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/meshc/meshc/planner/plan"
)

const countDef = `{"type":"record","name":"Count","fields":[
 {"name":"word","type":"string"},
 {"name":"count","type":"long"},
 {"name":"tags","type":["null",{"type":"array","items":"string"}]},
 {"name":"where","type":["null",{"type":"record","name":"Where","fields":[{"name":"city","type":"string"}]}]}]}`

func mustNew(t testing.TB, s plan.Schema) *Codec {
	t.Helper()
	c, err := New(s)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestRoundTrips(t *testing.T) {
	for _, tc := range []struct {
		schema plan.Schema
		value  any
	}{
		{plan.Schema{Type: "string"}, "héllo"},
		{plan.Schema{Type: "bytes"}, []byte{0, 1, 2}},
		{plan.Schema{Type: "int64"}, int64(-42)},
		{plan.Schema{Type: "float64"}, 2.5},
		{plan.Schema{Type: "bool"}, true},
		{plan.Schema{Type: "json", Definition: countDef}, map[string]any{"word": "a", "count": json.Number("3")}},
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

func TestRecursiveRecords(t *testing.T) {
	def := `{"type":"record","name":"Node","fields":[{"name":"v","type":"long"},
	 {"name":"next","type":["null","Node"],"default":null}]}`
	c := mustNew(t, plan.Schema{Type: "json", Definition: def})
	if _, err := c.Decode([]byte(`{"v":1,"next":{"v":2,"next":{"v":3}}}`)); err != nil {
		t.Error(err)
	}
	if _, err := c.Decode([]byte(`{"v":1,"next":{"v":"x"}}`)); err == nil || !strings.Contains(err.Error(), "next.v: want an integer") {
		t.Errorf("got %v", err)
	}
}

func TestBadPayloads(t *testing.T) {
	for _, tc := range []struct {
		schema  plan.Schema
		payload string
		want    string
	}{
		{plan.Schema{Type: "string"}, "\xff", "not valid UTF-8"},
		{plan.Schema{Type: "int64"}, "123", "has 3 bytes, want 8"},
		{plan.Schema{Type: "float64"}, "", "has 0 bytes, want 8"},
		{plan.Schema{Type: "bool"}, "\x02", "one byte, 0 or 1"},
		{plan.Schema{Type: "json"}, "{", "invalid JSON"},
		{plan.Schema{Type: "json"}, "{} {}", "data after the value"},
		{plan.Schema{Type: "json"}, strings.Repeat("[", 100), "deeper than 64"},
		{plan.Schema{Type: "json", Definition: countDef}, `{"word":"a"}`, `missing required field "count"`},
		{plan.Schema{Type: "json", Definition: countDef}, `{"word":1,"count":1}`, "word: want a string, got a number"},
		{plan.Schema{Type: "json", Definition: countDef}, `{"word":"a","count":1.5}`, "count: want an integer"},
		{plan.Schema{Type: "json", Definition: countDef}, `{"word":"a","count":1,"tags":[1]}`, "tags[0]: want a string, got a number"},
		{plan.Schema{Type: "json", Definition: countDef}, `{"word":"a","count":1,"where":{}}`, `missing required field "city"`},
		{plan.Schema{Type: "json", Definition: countDef}, `[]`, "message: want an object, got a list"},
	} {
		_, err := mustNew(t, tc.schema).Decode([]byte(tc.payload))
		if err == nil || !errors.Is(err, ErrPayload) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s %q: got %v, want ErrPayload containing %q", tc.schema.Type, tc.payload, err, tc.want)
		}
	}
}

func TestBadSchemas(t *testing.T) {
	for _, s := range []plan.Schema{
		{Type: "xml"},
		{Type: "json", Definition: "{"},
		{Type: "json", Definition: `{"type":"record","fields":[{"type":"string"}]}`},
		{Type: "json", Definition: `{"type":"record","fields":[{"name":"a","type":"decimal"}]}`},
		{Type: "json", Definition: strings.Repeat(`{"type":"array","items":`, 40) + `"string"` + strings.Repeat("}", 40)},
	} {
		if _, err := New(s); err == nil {
			t.Errorf("New(%+v): want an error", s)
		}
	}
}

func TestEncodeRefusesWrongTypes(t *testing.T) {
	for _, tc := range []struct {
		schema plan.Schema
		value  any
	}{
		{plan.Schema{Type: "int64"}, "x"},
		{plan.Schema{Type: "bool"}, 1},
		{plan.Schema{Type: "json", Definition: countDef}, map[string]any{"word": "a"}},
		{plan.Schema{Type: "json"}, func() {}},
	} {
		if _, err := mustNew(t, tc.schema).Encode(tc.value); err == nil {
			t.Errorf("%s: encoding %T should fail", tc.schema.Type, tc.value)
		}
	}
}

// FuzzDecode checks that no payload makes a codec panic, and that what
// decodes encodes back to a payload that decodes to the same value.
func FuzzDecode(f *testing.F) {
	schemas := []plan.Schema{{Type: "string"}, {Type: "bytes"}, {Type: "int64"}, {Type: "float64"},
		{Type: "bool"}, {Type: "json"}, {Type: "json", Definition: countDef}}
	f.Add(uint8(6), []byte(`{"word":"a","count":1,"tags":["x"],"where":{"city":"b"}}`))
	f.Add(uint8(5), []byte(`[1, {"a": "\u00e9"}, null, true]`))
	f.Add(uint8(2), []byte("\x00\x00\x00\x00\x00\x00\x00\x01"))
	f.Add(uint8(0), []byte("héllo"))
	f.Fuzz(func(t *testing.T, which uint8, payload []byte) {
		c := mustNew(t, schemas[int(which)%len(schemas)])
		v, err := c.Decode(payload)
		shared, sharedErr := c.DecodeShared(payload)
		if (err == nil) != (sharedErr == nil) || !cmp.Equal(v, shared, cmpopts.EquateNaNs()) {
			t.Fatalf("DecodeShared gives %#v, %v; Decode %#v, %v", shared, sharedErr, v, err)
		}
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
		if c.schema.Type != "float64" && !cmp.Equal(v, v2) { // NaN != NaN
			t.Fatalf("round trip changed %#v into %#v", v, v2)
		}
	})
}
