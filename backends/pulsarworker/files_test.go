package pulsarworker

import (
	"bytes"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/apache/pulsar-client-go/pulsaradmin/pkg/utils"
	"github.com/google/go-cmp/cmp"

	"github.com/meshc/meshc/backends"
	"github.com/meshc/meshc/internal/golden"
	"github.com/meshc/meshc/internal/jsontext"
	"github.com/meshc/meshc/internal/meshgen"
	"github.com/meshc/meshc/planner/plan"
)

// TestFilesAreEncodingJSON compares Files with the FunctionConfigs of
// Configs written by encoding/json, byte for byte: on the examples, on
// generated meshes of every shape, and on user configs and resources that
// need escaping and every kind of value.
func TestFilesAreEncodingJSON(t *testing.T) {
	plans := map[string]*plan.Plan{}
	for _, path := range append(golden.Glob(t, "../../examples/*.mesh"), "../../examples/polyglot/polyglot.mesh", "testdata/secured.mesh") {
		plans[filepath.Base(path)] = planFile(t, path, nil)
	}
	for _, shape := range meshgen.Shapes {
		plans[string(shape)] = planSource(t, string(shape)+".mesh", meshgen.Generate(shape, 40), nil)
	}
	plans["odd values"] = oddValues(planSource(t, "mixed.mesh", meshgen.Generate(meshgen.Mixed, 8), nil))
	for name, p := range plans {
		for _, pk := range []Package{testPackage, {URL: "https://example.com/meshrt?a=1&b=<2>"}, {File: "meshrt"}} {
			t.Run(name+"/"+pk.Name(), func(t *testing.T) {
				got, err := Files(p, pk)
				if err != nil {
					t.Fatal(err)
				}
				want := reflectedFiles(t, p, pk)
				if diff := cmp.Diff(filesText(want), filesText(got)); diff != "" {
					t.Errorf("Files differs from encoding/json (-want +got):\n%s", diff)
				}
			})
		}
	}
}

// oddValues gives the components of p config values, names and
// resources whose JSON needs care.
func oddValues(p *plan.Plan) *plan.Plan {
	for i := range p.Components {
		c := &p.Components[i]
		c.Config = map[string]any{
			"html":       "<a href='x'>&</a>",
			"quote":      "say \"hi\"\\ \n\t\x01",
			"unicode":    "héllo \u2028 \u2029 \U0001F600",
			"invalid":    "a\xffb",
			"float":      1.5e-7,
			"big":        1e21,
			"int":        float64(3),
			"negative":   -2.5e-300,
			"bool":       true,
			"null":       nil,
			"list":       []any{"a", 2.5, []any{}, map[string]any{}, map[string]any{"k": "v"}},
			"empty":      map[string]any{},
			"nested":     map[string]any{"b": map[string]any{"c": []any{1.0, "<>"}}},
			"nilList":    []any(nil),
			"typed":      []string{"x", "y"},
			"meshc.plan": "a user's own, which the plan replaces",
			"raw":        json.RawMessage(`{ "a" : [1, 2] }`),
			"ключ<&>":    "v",
		}
		if i%2 == 0 {
			c.Resources = plan.Resources{CPU: 0.25, Memory: 1 << 30}
		}
		if i%3 == 0 {
			c.Resources = plan.Resources{CPU: 2}
		}
	}
	return p
}

// reflectedFiles is what Files wrote before it wrote by hand: each config
// of Configs through encoding/json's indenting Encoder.
func reflectedFiles(t *testing.T, p *plan.Plan, pk Package) []backends.File {
	t.Helper()
	fns, err := Configs(p, pk)
	if err != nil {
		t.Fatal(err)
	}
	var files []backends.File
	for _, f := range fns {
		var b bytes.Buffer
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(false)
		enc.SetIndent("", "  ")
		if err := enc.Encode(f.Config); err != nil {
			t.Fatal(err)
		}
		files = append(files, backends.File{Path: f.Config.Name + ".json", Data: b.Bytes()})
	}
	backends.Sort(files)
	return files
}

func filesText(files []backends.File) []string {
	var out []string
	for _, f := range files {
		out = append(out, fmt.Sprintf("== %s\n%s", f.Path, f.Data))
	}
	return out
}

// TestFilesErrors: what the worker cannot run is reported for every
// component, as Configs reports it.
func TestFilesErrors(t *testing.T) {
	p := planSource(t, "mixed.mesh", meshgen.Generate(meshgen.Mixed, 4), nil)
	for i := range p.Components {
		p.Components[i].Replicas = plan.Replicas{}
	}
	_, want := Configs(p, testPackage)
	_, got := Files(p, testPackage)
	if want == nil || got == nil || got.Error() != want.Error() {
		t.Fatalf("Files: %v, want %v", got, want)
	}
	if n := strings.Count(got.Error(), "replicas"); n < len(p.Components) {
		t.Errorf("Files reports %d components of %d:\n%v", n, len(p.Components), got)
	}
}

// TestFileEncoderFallsBack: a config with a field the file encoder does
// not write is left to encoding/json, and what the encoder began is undone.
func TestFileEncoderFallsBack(t *testing.T) {
	p := planSource(t, "mixed.mesh", meshgen.Generate(meshgen.Mixed, 2), nil)
	c := &p.Components[1]
	fc, err := baseConfig(p, c, testPackage)
	if err != nil {
		t.Fatal(err)
	}
	if !writable(&fc) {
		t.Fatal("the config meshc makes is not writable by hand")
	}
	odd := fc
	odd.DeadLetterTopic = "dead"
	spec := odd.InputSpecs
	odd.InputSpecs = map[string]utils.ConsumerConfig{}
	for k, v := range spec {
		v.ReceiverQueueSize = 10
		odd.InputSpecs[k] = v
	}
	for name, fc := range map[string]utils.FunctionConfig{"deadLetterTopic": odd, "receiverQueueSize": {InputSpecs: odd.InputSpecs}} {
		if writable(&fc) {
			t.Errorf("a config with %s is writable by hand", name)
		}
	}
	e := &fileEncoder{Writer: jsontext.Writer{B: []byte("before")}}
	data, err := e.file(p, c, testPackage, &odd)
	if err != nil {
		t.Fatal(err)
	}
	if string(e.B) != "before" || e.Depth != 0 {
		t.Errorf("the encoder kept %q at depth %d", e.B, e.Depth)
	}
	want := reflectedFiles(t, p, testPackage)
	if i := slices.IndexFunc(want, func(f backends.File) bool { return f.Path == c.Name+".json" }); i < 0 || !bytes.Equal(data, want[i].Data) {
		t.Errorf("fallback file differs from encoding/json's:\n%s", data)
	}
}

// TestFilesDoNotShareRoom: appending to one file's bytes leaves the
// others as they are, though they share a buffer.
func TestFilesDoNotShareRoom(t *testing.T) {
	p := planSource(t, "mixed.mesh", meshgen.Generate(meshgen.Mixed, 4), nil)
	files, err := Files(p, testPackage)
	if err != nil {
		t.Fatal(err)
	}
	want := filesText(reflectedFiles(t, p, testPackage))
	for i := range files {
		_ = append(files[i].Data, "garbage"...)
	}
	if diff := cmp.Diff(want, filesText(files)); diff != "" {
		t.Errorf("appending to a file changed another (-want +got):\n%s", diff)
	}
}
