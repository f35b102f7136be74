package plan

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestRoundTrip(t *testing.T) {
	p := &Plan{
		APIVersion: APIVersion,
		Mesh:       Mesh{Name: "wc", Tenant: "public", Namespace: "default"},
		Topics:     []Topic{{Name: "in", FQN: "persistent://public/default/in", Schema: Schema{Type: "string"}}},
		Components: []Component{{
			Kind: Function, Name: "split", FQFN: "public/default/split", Hash: "abc",
			Implementation: Implementation{Kind: "builtin", Name: "split_words"},
			Inputs:         []Input{{Topic: "persistent://public/default/in", Schema: Schema{Type: "string"}}},
			Guarantee:      AtLeastOnce, Replicas: Replicas{Count: 2}, Timeout: Duration(90 * time.Second),
			Config: Config{{Key: "a", Value: json.Number("9007199254740993")}, {Key: "b", Value: "x"}},
		}},
	}
	data, err := Encode(p)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), `"timeout": "1m30s"`) {
		t.Errorf("durations should read as text:\n%s", data)
	}
	if strings.Index(string(data), `"a"`) > strings.Index(string(data), `"b"`) {
		t.Errorf("config keys should be sorted:\n%s", data)
	}
	got, err := Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(p, got); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
	again, _ := Encode(got)
	if string(again) != string(data) {
		t.Error("encoding is not stable")
	}
}

func TestDecodeRefusesOtherVersions(t *testing.T) {
	for _, in := range []string{`{"apiVersion": "meshc/v0"}`, `{}`, `not json`} {
		if _, err := Decode([]byte(in)); err == nil {
			t.Errorf("Decode(%s): want an error", in)
		}
		if _, err := DecodeInstance([]byte(in)); err == nil {
			t.Errorf("DecodeInstance(%s): want an error", in)
		}
	}
}

// TestPulsarType: each schema kind of a mesh as Pulsar names it, and a
// kind it does not know in upper case.
func TestPulsarType(t *testing.T) {
	for typ, want := range map[string]string{
		"": "BYTES", "bytes": "BYTES", "string": "STRING", "int64": "INT64", "float64": "DOUBLE", "bool": "BOOLEAN",
		"json": "JSON", "avro": "AVRO", "protobuf": "PROTOBUF_NATIVE", "int32": "INT32",
	} {
		if got := (Schema{Type: typ}).PulsarType(); got != want {
			t.Errorf("PulsarType of %q = %q, want %q", typ, got, want)
		}
	}
}
