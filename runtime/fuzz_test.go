package runtime

import (
	"testing"

	"github.com/meshc/meshc/planner/plan"
	"github.com/meshc/meshc/runtime/codec"
)

// FuzzWhere reads filter expressions, as mesh files give them, and
// matches them against JSON payloads: an expression is refused with an
// error or read, and matching never panics.
func FuzzWhere(f *testing.F) {
	f.Add(`amount > 100 and country == "FR"`, []byte(`{"amount":150,"country":"FR"}`))
	f.Add(`user.name contains "bo"`, []byte(`{"user":{"name":"bob"}}`))
	f.Add(`. == true`, []byte(`true`))
	f.Add(`a != "x\"y"`, []byte(`{"a":"x\"y"}`))
	json, err := codec.New(plan.Schema{Type: "json"})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, text string, payload []byte) {
		w, err := parseWhere(text)
		if err != nil {
			return
		}
		if v, err := json.Decode(payload); err == nil {
			w.match(v)
		}
	})
}

// FuzzInstanceConf reads the instance configuration Pulsar's Functions
// worker and the Function Mesh operator pass: it is refused with an error
// or read, and a refused one leaves the plan's index alone.
func FuzzInstanceConf(f *testing.F) {
	f.Add(`{"instanceID": 3, "funcID": "x"}`)
	f.Add(`{"instanceID": -1}`)
	f.Add(`{"instanceID": 1e3}`)
	f.Add(`{"userConfig": "{\"meshc.plan\": {\"index\": 1}}"}`)
	f.Add(`{"clientAuthenticationPlugin": "tls", "clientAuthenticationParameters": "tlsCertFile:/c,tlsKeyFile:/k", "metricsPort": 9094}`)
	f.Fuzz(func(t *testing.T, text string) {
		in := &plan.Instance{Index: 7}
		conf, err := parseInstanceConf(text)
		if err != nil {
			return
		}
		conf.plan()
		conf.connection(Connection{})
		conf.listen("")
		if err := setIndex(in, "", conf); err != nil || in.Index < 0 {
			t.Fatalf("conf %q: index %d, %v", text, in.Index, err)
		}
	})
}
