package nomad

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/meshc/meshc/compiler"
	"github.com/meshc/meshc/internal/meshgen"
	"github.com/meshc/meshc/lang"
	"github.com/meshc/meshc/planner"
	"github.com/meshc/meshc/planner/plan"
)

// The instance plans are held to json.MarshalIndent, which wrote them
// before.

// instanceReference is the instance plan of c as json.MarshalIndent
// writes its parts.
func instanceReference(p *plan.Plan, c *plan.Component) (string, error) {
	in := p.Instance(c, 0)
	in.Component.Replicas = plan.Replicas{}
	var parts []any
	for _, v := range []any{in.APIVersion, in.Mesh, in.Component} {
		b, err := json.MarshalIndent(v, "  ", "  ")
		if err != nil {
			return "", err
		}
		parts = append(parts, string(b))
	}
	return fmt.Sprintf("{\n  \"apiVersion\": %s,\n  \"mesh\": %s,\n  \"component\": %s,\n  \"index\": << env \"NOMAD_ALLOC_INDEX\" >>\n}\n",
		parts...), nil
}

// TestInstancePlans: the instance plans of every example, the test
// meshes and a generated mesh of every kind of component.
func TestInstancePlans(t *testing.T) {
	meshes, err := filepath.Glob("../../examples/*.mesh")
	if err != nil {
		t.Fatal(err)
	}
	plans := map[string]*plan.Plan{}
	for _, m := range append(meshes, "testdata/orders.mesh", "testdata/secured.mesh", "testdata/e2e.mesh", "testdata/e2e-secured.mesh") {
		plans[m] = planFile(t, m, nil)
	}
	f, diags := lang.Parse("mixed.mesh", meshgen.Generate(meshgen.Mixed, 40))
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	m, diags := compiler.Compile([]*lang.File{f}, nil)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	plans["mixed"] = planner.Plan(m, planner.Options{})
	for name, p := range plans {
		in, err := newInstanceWriter(p)
		if err != nil {
			t.Fatal(err)
		}
		for i := range p.Components {
			c := &p.Components[i]
			checkInstance(t, name, p, c, in)
		}
	}
}

func checkInstance(t *testing.T, name string, p *plan.Plan, c *plan.Component, in *instanceWriter) {
	t.Helper()
	want, wantErr := instanceReference(p, c)
	got, err := in.plan(c)
	switch {
	case wantErr != nil && err == nil:
		t.Errorf("%s %s: no error, want %v", name, c.Name, wantErr)
	case wantErr == nil && err != nil:
		t.Errorf("%s %s: %v", name, c.Name, err)
	case wantErr == nil:
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s %s (-json.MarshalIndent +got):\n%s", name, c.Name, diff)
		}
	}
}

// TestPlanValues: values of every kind, as encoding/json writes them.
func TestPlanValues(t *testing.T) {
	type embedded struct{ A int }
	type tagged struct {
		embedded
		N int    `json:",string"`
		S string `json:"s,omitempty"`
	}
	type zeroes struct {
		P *int           `json:"p,omitzero"`
		M map[string]int `json:"m,omitempty"`
		B []byte         `json:"b"`
		A [2]byte        `json:"a"`
		I any            `json:"i"`
		D plan.Duration  `json:"d"`
		F float32        `json:"f"`
		_ int
	}
	type withTime struct {
		T time.Time `json:"t,omitzero"`
	}
	for _, v := range []any{
		0.0, 1.0, -1.5, 1e20, 1e21, 1e-6, 1e-7, 123456789.123456789, math.MaxFloat64, math.SmallestNonzeroFloat64,
		float32(0.1), float32(1e21), float32(1e-7), float32(3.4e38), math.Inf(1), math.NaN(),
		"<&>\u2028", json.Number("12.50"), []byte(nil), []byte("bytes"), []string(nil), []string{}, map[string]any(nil),
		map[string]any{"b": []any{1.0, "x", nil, map[string]any{}}, "a": true, "c": json.Number("1")},
		map[int]string{2: "b", 1: "a"}, map[string]plan.Secret{"z": {Path: "p", Key: "k"}, "a": {}},
		tagged{embedded{1}, 2, ""}, withTime{}, zeroes{}, zeroes{P: new(int), M: map[string]int{}, B: []byte{}, I: 1, D: plan.Duration(time.Minute), F: 0.1},
		time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC), &plan.Sandbox{}, []*plan.Sandbox{nil}, make(chan int),
	} {
		want, wantErr := json.MarshalIndent(v, "  ", "  ")
		got, err := planEncoderOf(reflect.TypeOf(v))(nil, reflect.ValueOf(v), 1)
		switch {
		case (wantErr == nil) != (err == nil):
			t.Errorf("%T %v: error %v, want %v", v, v, err, wantErr)
		case err == nil && string(got) != string(want):
			t.Errorf("%T %v: got\n%s\nwant\n%s", v, v, got, want)
		}
	}
}

// FuzzPlanJSON holds the instance plans to json.MarshalIndent for a
// component of any config, text and numbers.
func FuzzPlanJSON(f *testing.F) {
	f.Add([]byte(`{"a": [1, "x", {"b": null}], "html": "<&>", "n": 1e21}`), "f<1>", 0.25, int64(30e9), true)
	f.Add([]byte(`{}`), "\u2028\xff", -1e-7, int64(-1), false)
	base := plan.Component{
		Kind: plan.Function, Name: "f", FQFN: "t/n/f", Hash: "h", Implementation: plan.Implementation{Kind: "go", Name: "F"},
		Inputs: []plan.Input{{Topic: "persistent://t/n/in", Schema: plan.Schema{Type: "avro", Definition: `{"type":"record"}`}}},
		Output: &plan.Output{Topic: "persistent://t/n/out", Schema: plan.Schema{Type: "protobuf", Descriptor: []byte{1, 2, 3}}},
	}
	p := &plan.Plan{APIVersion: plan.APIVersion, Mesh: plan.Mesh{Name: "m", Tenant: "t", Namespace: "n"}}
	in, err := newInstanceWriter(p)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, config []byte, text string, number float64, nanos int64, useNumber bool) {
		c := base
		dec := json.NewDecoder(bytes.NewReader(config))
		if useNumber {
			dec.UseNumber()
		}
		if dec.Decode(&c.Config) != nil {
			c.Config = map[string]any{"text": string(config)}
		}
		c.Name, c.LogTopic, c.Implementation.Command = text, text, []string{text, ""}
		c.Resources.CPU, c.Timeout = number, plan.Duration(nanos)
		c.Secrets = map[string]plan.Secret{text: {Path: text, Key: "k"}}
		c.Sandbox = &plan.Sandbox{Memory: nanos, Time: plan.Duration(nanos), Dirs: []string{text}}
		checkInstance(t, "fuzz", p, &c, in)
	})
}
