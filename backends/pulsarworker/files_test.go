package pulsarworker

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
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
				if diff := cmp.Diff(filesText(t, want), filesText(t, got)); diff != "" {
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
		c.Config = plan.ConfigOf(map[string]any{
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
		})
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

func filesText(t *testing.T, files []backends.File) []string {
	var out []string
	for _, f := range files {
		data, err := f.Bytes()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, fmt.Sprintf("== %s\n%s", f.Path, data))
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
	// The input specs and user config are written from the plan: a config
	// that has its own goes to encoding/json.
	for name, fc := range map[string]utils.FunctionConfig{"deadLetterTopic": odd, "inputSpecs": {InputSpecs: inputSpecs(c)}, "userConfig": {UserConfig: map[string]any{}}} {
		if writable(&fc) {
			t.Errorf("a config with %s is writable by hand", name)
		}
	}
	e := &fileEncoder{Writer: jsontext.Writer{B: []byte("before")}}
	data, err := e.file(p, c, testPackage, &odd)
	if err != nil {
		t.Fatal(err)
	}
	if e.Depth != 0 {
		t.Errorf("the encoder was left at depth %d", e.Depth)
	}
	want := reflectedFiles(t, p, testPackage)
	if i := slices.IndexFunc(want, func(f backends.File) bool { return f.Path == c.Name+".json" }); i < 0 || !bytes.Equal(data, want[i].Data) {
		t.Errorf("fallback file differs from encoding/json's:\n%s", data)
	}
}

// TestWritableKnowsEveryField changes each field of a config meshc makes
// in turn: when writable says the encoder writes the config, it writes
// encoding/json's bytes of it. So a field the encoder does not write, a
// new one of pulsaradmin's too, must be one writable refuses.
func TestWritableKnowsEveryField(t *testing.T) {
	p := planSource(t, "mixed.mesh", meshgen.Generate(meshgen.Mixed, 4), nil)
	for i := range p.Components {
		c := &p.Components[i]
		base, err := baseConfig(p, c, testPackage)
		if err != nil {
			t.Fatal(err)
		}
		in, own := p.Instance(c, 0), ownKeys(p, c, testPackage)
		typ := reflect.TypeFor[utils.FunctionConfig]()
		for f := range typ.NumField() {
			fc := base
			change(reflect.ValueOf(&fc).Elem().Field(f))
			if !writable(&fc) {
				continue
			}
			e := &fileEncoder{}
			if !e.config(&fc, c, &own, &in) {
				t.Fatalf("%s: config refuses a writable config: %v", typ.Field(f).Name, e.err)
			}
			full, err := Config(p, c, testPackage)
			if err != nil {
				t.Fatal(err)
			}
			fc.InputSpecs, fc.UserConfig = full.InputSpecs, full.UserConfig
			if diff := cmp.Diff(indentedJSON(t, fc), string(e.B)); diff != "" {
				t.Errorf("%s %s, %s changed: the encoder differs from encoding/json (-want +got):\n%s", c.Kind, c.Name, typ.Field(f).Name, diff)
			}
		}
	}
}

// TestConsumerConfigKnowsEveryField: an input spec with a field the
// encoder does not write fails the file; one it writes is encoding/json's.
func TestConsumerConfigKnowsEveryField(t *testing.T) {
	base := utils.ConsumerConfig{SchemaType: "JSON"}
	typ := reflect.TypeFor[utils.ConsumerConfig]()
	for f := range typ.NumField() {
		cc := base
		change(reflect.ValueOf(&cc).Elem().Field(f))
		e := &fileEncoder{}
		e.consumerConfig(cc)
		if e.err != nil {
			if !errors.Is(e.err, errUnwritten) {
				t.Errorf("%s: %v", typ.Field(f).Name, e.err)
			}
			continue
		}
		if diff := cmp.Diff(indentedJSON(t, cc), string(e.B)+"\n"); diff != "" {
			t.Errorf("%s changed: the encoder differs from encoding/json (-want +got):\n%s", typ.Field(f).Name, diff)
		}
	}
}

// change sets v to another value than it has, not a zero one.
func change(v reflect.Value) {
	switch v.Kind() {
	case reflect.String:
		v.SetString(v.String() + "x")
	case reflect.Bool:
		v.SetBool(!v.Bool())
	case reflect.Int, reflect.Int64:
		v.SetInt(v.Int() + 1)
	case reflect.Float64:
		v.SetFloat(v.Float() + 1)
	case reflect.Pointer:
		p := reflect.New(v.Type().Elem())
		if !v.IsNil() {
			p.Elem().Set(v.Elem())
		}
		change(p.Elem())
		v.Set(p)
	case reflect.Slice:
		v.Set(reflect.Append(v, reflect.Zero(v.Type().Elem())))
	case reflect.Map:
		m := reflect.MakeMap(v.Type())
		m.SetMapIndex(reflect.ValueOf("changed"), reflect.Zero(v.Type().Elem()))
		v.Set(m)
	case reflect.Struct:
		change(v.Field(0))
	default:
		panic("change: a field of kind " + v.Kind().String())
	}
}

// indentedJSON is v as a config file holds it.
func indentedJSON(t *testing.T, v any) string {
	t.Helper()
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// TestFilesWrittenInTurn: the files share one buffer, taken in turn as
// each is written, in whatever order.
func TestFilesWrittenInTurn(t *testing.T) {
	p := planSource(t, "mixed.mesh", meshgen.Generate(meshgen.Mixed, 4), nil)
	files, err := Files(p, testPackage)
	if err != nil {
		t.Fatal(err)
	}
	want := filesText(t, reflectedFiles(t, p, testPackage))
	slices.Reverse(files)
	got := filesText(t, files)
	slices.Reverse(got)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("files written in reverse (-want +got):\n%s", diff)
	}
}
