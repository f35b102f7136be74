package nomad

import (
	"bytes"
	"encoding/json"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/meshc/meshc/internal/meshgen"
	"github.com/meshc/meshc/internal/plantest"
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
	plans["mixed"] = plantest.Generated(t, meshgen.Mixed, 40)
	for name, p := range plans {
		in := newInstanceWriter(p)
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
	in := newInstanceWriter(p)
	f.Fuzz(func(t *testing.T, config []byte, text string, number float64, nanos int64, useNumber bool) {
		c := base
		dec := json.NewDecoder(bytes.NewReader(config))
		if useNumber {
			dec.UseNumber()
		}
		if dec.Decode(&c.Config) != nil {
			c.Config = plan.Config{{Key: "text", Value: string(config)}}
		}
		c.Name, c.LogTopic, c.Implementation.Command = text, text, []string{text, ""}
		c.Resources.CPU, c.Timeout = number, plan.Duration(nanos)
		c.Secrets = map[string]plan.Secret{text: {Path: text, Key: "k"}}
		c.Sandbox = &plan.Sandbox{Memory: nanos, Time: plan.Duration(nanos), Dirs: []string{text}}
		checkInstance(t, "fuzz", p, &c, in)
	})
}
