package pulsarworker

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/meshc/meshc/backends"
	"github.com/meshc/meshc/compiler"
	"github.com/meshc/meshc/internal/golden"
	"github.com/meshc/meshc/lang"
	"github.com/meshc/meshc/planner"
	"github.com/meshc/meshc/planner/plan"
)

// planSource compiles and plans a mesh given as text.
func planSource(t testing.TB, name string, src []byte, params map[string]string) *plan.Plan {
	t.Helper()
	f, diags := lang.Parse(name, src)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	m, diags := compiler.Compile([]*lang.File{f}, params)
	if diags.HasErrors() {
		t.Fatal(lang.Sources{name: src}.String(diags))
	}
	return planner.Plan(m, planner.Options{Source: filepath.Base(name)})
}

func planFile(t testing.TB, path string, params map[string]string) *plan.Plan {
	t.Helper()
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return planSource(t, path, src, params)
}

var testPackage = Package{File: "/usr/local/bin/meshrt", Digest: "sha256:0123456789abcdef"}

// TestGoldenConfigs compares the FunctionConfig of every component of each
// example mesh, as JSON the worker receives, with testdata/NAME.json.
func TestGoldenConfigs(t *testing.T) {
	meshes := append(golden.Glob(t, "../../examples/*.mesh"), "../../examples/polyglot/polyglot.mesh", "testdata/secured.mesh")
	for _, path := range meshes {
		name := strings.TrimSuffix(filepath.Base(path), ".mesh")
		t.Run(name, func(t *testing.T) {
			fns, err := Configs(planFile(t, path, nil), testPackage)
			if err != nil {
				t.Fatal(err)
			}
			golden.File(t, filepath.Join("testdata", "golden", name+".json"), encodeConfigs(t, fns))
		})
	}
}

// encodeConfigs writes the configs as the worker receives them, one
// object by function name.
func encodeConfigs(t *testing.T, fns []Function) []byte {
	t.Helper()
	byName := map[string]any{}
	for _, f := range fns {
		byName[f.Config.Name] = f.Config
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(byName); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestPlanRoundTrip: the instance plan in the user config is what meshrt
// reads, the component's own, at index 0.
func TestPlanRoundTrip(t *testing.T) {
	p := planFile(t, "../../examples/wordcount.mesh", nil)
	fns, err := Configs(p, testPackage)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fns {
		// Through JSON, as the worker stores and hands it on.
		data, err := json.Marshal(f.Config)
		if err != nil {
			t.Fatal(err)
		}
		var back struct {
			UserConfig map[string]json.RawMessage `json:"userConfig"`
		}
		if err := json.Unmarshal(data, &back); err != nil {
			t.Fatal(err)
		}
		in, err := plan.DecodeInstance(back.UserConfig[PlanKey])
		if err != nil {
			t.Fatal(err)
		}
		want, _ := json.Marshal(p.Instance(f.Component, 0))
		again, _ := json.Marshal(in)
		if diff := cmp.Diff(string(want), string(again)); diff != "" {
			t.Errorf("%s: instance plan (-want +got):\n%s", f.Config.Name, diff)
		}
	}
}

func TestConfigMapping(t *testing.T) {
	src := `mesh m {
  tenant = "t"
  namespace = "n"
}
topic a string
topic b string
topic c string
source gen -> a {
  use = builtin.generator
  config { lines = ["x"] }
}
function once(a) -> b {
  use = builtin.upper
  guarantee = at_most_once
}
function exact(b) -> c {
  use = builtin.upper
  guarantee = effectively_once
}
function keyed(a) -> c {
  use = builtin.upper
  subscription { type = key_shared, position = earliest }
  max_retries = 2
  timeout = 1500ms
  cpu = 0.5
}
sink out(c) {
  use = builtin.stdout
}
`
	p := planSource(t, "m.mesh", []byte(src), nil)
	fns, err := Configs(p, Package{URL: "https://example.com/meshrt"})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]Function{}
	for _, f := range fns {
		got[f.Config.Name] = f
	}
	type view struct {
		Inputs          []string
		Output          string
		Guarantee       string
		Retries         *int
		DeadLetter      string
		TimeoutMs       *int64
		KeyOrdering     bool
		Position        string
		CPU             float64
		Go              string
		PackageRecorded any
	}
	see := func(name string) view {
		fc := got[name].Config
		v := view{Inputs: fc.Inputs, Output: fc.Output, Guarantee: fc.ProcessingGuarantees, Retries: fc.MaxMessageRetries,
			DeadLetter: fc.DeadLetterTopic, TimeoutMs: fc.TimeoutMs, KeyOrdering: fc.RetainKeyOrdering,
			Position: fc.SubscriptionPosition, Go: *fc.Go, PackageRecorded: fc.UserConfig[PackageKey]}
		if fc.Resources != nil {
			v.CPU = fc.Resources.CPU
		}
		return v
	}
	const url = "https://example.com/meshrt"
	tests := map[string]view{
		"gen":   {Inputs: []string{"persistent://t/n/m-gen-meshc-idle"}, Output: "persistent://t/n/a", Guarantee: "ATLEAST_ONCE", Go: url, PackageRecorded: url},
		"once":  {Inputs: []string{"persistent://t/n/a"}, Output: "persistent://t/n/b", Guarantee: "ATMOST_ONCE", Position: "Latest", Go: url, PackageRecorded: url},
		"exact": {Inputs: []string{"persistent://t/n/b"}, Output: "persistent://t/n/c", Guarantee: "MANUAL", Position: "Latest", Go: url, PackageRecorded: url},
		"keyed": {Inputs: []string{"persistent://t/n/a"}, Output: "persistent://t/n/c", Guarantee: "ATLEAST_ONCE",
			TimeoutMs: ptr(int64(1500)), Position: "Earliest", CPU: 0.5, Go: url, PackageRecorded: url},
		"out": {Inputs: []string{"persistent://t/n/c"}, Guarantee: "ATLEAST_ONCE", Position: "Latest", Go: url, PackageRecorded: url},
	}
	for name, want := range tests {
		if diff := cmp.Diff(want, see(name)); diff != "" {
			t.Errorf("%s (-want +got):\n%s", name, diff)
		}
	}
}

func TestConfigErrors(t *testing.T) {
	src := `mesh m {
  tenant = "t"
  namespace = "n"
}
topic a string external
function zero(a) -> a2 {
  use = builtin.upper
  replicas = 0
}
topic a2 string external
`
	_, err := Configs(planSource(t, "m.mesh", []byte(src), nil), testPackage)
	errs, rest := backends.MeshErrors(err)
	if len(errs) != 1 || len(rest) != 0 || errs[0].Component != "zero" || errs[0].Option != "replicas" {
		t.Fatalf("Configs = %v, want one MeshError at zero's replicas", err)
	}
	if !errors.Is(err, errs[0].Err) || !strings.Contains(err.Error(), "replicas = 1 or more") {
		t.Errorf("error %q does not say what to do", err)
	}
}
