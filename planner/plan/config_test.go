package plan

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// TestConfigJSONIsAMap checks that a Config reads and writes as
// encoding/json reads and writes the map it stands for.
func TestConfigJSONIsAMap(t *testing.T) {
	for _, text := range []string{
		`{}`, `null`, `{"b":1,"a":"x"}`, `{"a":1,"a":2}`, `{"k":{"z":[1,2.5,"<&>"],"a":null}}`,
		`{"big":9007199254740993}`, `{"\u2028":"é"}`,
	} {
		var m map[string]any
		dec := json.NewDecoder(strings.NewReader(text))
		dec.UseNumber()
		if err := dec.Decode(&m); err != nil {
			t.Fatal(err)
		}
		var c Config
		if err := json.Unmarshal([]byte(text), &c); err != nil {
			t.Fatalf("%s: %v", text, err)
		}
		if (c == nil) != (m == nil) {
			t.Errorf("%s: read as %#v, want nil %v", text, c, m == nil)
		}
		for i := 1; i < len(c); i++ {
			if c[i-1].Key >= c[i].Key {
				t.Errorf("%s: keys out of order: %#v", text, c)
			}
		}
		want, _ := json.Marshal(struct {
			C map[string]any `json:"c,omitempty"`
			D map[string]any `json:"d"`
		}{m, m})
		got, err := json.Marshal(struct {
			C Config `json:"c,omitempty"`
			D Config `json:"d"`
		}{c, c})
		if err != nil {
			t.Fatal(err)
		}
		// A nil map writes as null, a nil Config as {}: a config is
		// never written as null, being omitted when empty.
		want = []byte(strings.Replace(string(want), `"d":null`, `"d":{}`, 1))
		if string(got) != string(want) {
			t.Errorf("%s: wrote %s, want %s", text, got, want)
		}
	}
}

func TestConfigKeepsNumbers(t *testing.T) {
	data := []byte(`{"apiVersion":"` + APIVersion + `","component":{"config":{"n":9007199254740993,"l":[1.5,{"x":2}]}}}`)
	var p Component
	if err := json.Unmarshal([]byte(`{"config":{"n":9007199254740993}}`), &p); err != nil {
		t.Fatal(err)
	}
	if v, _ := p.Config.Get("n"); v != json.Number("9007199254740993") {
		t.Errorf("plan config n = %#v, want every digit", v)
	}
	in, err := DecodeInstance(data)
	if err != nil {
		t.Fatal(err)
	}
	// Functions read numbers as encoding/json reads them into an any.
	want := Config{{Key: "l", Value: []any{1.5, map[string]any{"x": 2.0}}}, {Key: "n", Value: 9007199254740992.0}}
	if !reflect.DeepEqual(in.Component.Config, want) {
		t.Errorf("instance config = %#v, want %#v", in.Component.Config, want)
	}
	if _, err := DecodeInstance([]byte(`{"apiVersion":"` + APIVersion + `","component":{"config":{"n":1e400}}}`)); err == nil {
		t.Error("a number no float64 holds: want an error, as encoding/json gives")
	}
}

func TestConfigGet(t *testing.T) {
	c := ConfigOf(map[string]any{"b": 2, "a": 1, "c": 3})
	for k, want := range map[string]any{"a": 1, "b": 2, "c": 3} {
		if v, ok := c.Get(k); !ok || v != want {
			t.Errorf("Get(%q) = %v, %v", k, v, ok)
		}
	}
	if _, ok := c.Get("d"); ok {
		t.Error("Get of a missing key found it")
	}
}
