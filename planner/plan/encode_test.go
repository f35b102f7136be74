package plan

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"reflect"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// reference is the plan as encoding/json writes it, the bytes Encode must
// give.
func reference(p *Plan) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	err := enc.Encode(p)
	return b.Bytes(), err
}

// checkEncode compares Encode and WriteTo with encoding/json: the same
// bytes, or an error from all three.
func checkEncode(t *testing.T, p *Plan) {
	t.Helper()
	want, wantErr := reference(p)
	got, err := Encode(p)
	if (err != nil) != (wantErr != nil) {
		t.Fatalf("Encode error %v, encoding/json's %v", err, wantErr)
	}
	var w bytes.Buffer
	streamErr := WriteTo(&w, p)
	if (streamErr != nil) != (wantErr != nil) {
		t.Fatalf("WriteTo error %v, encoding/json's %v", streamErr, wantErr)
	}
	if wantErr != nil {
		return
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("Encode differs from encoding/json (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(string(want), w.String()); diff != "" {
		t.Errorf("WriteTo differs from encoding/json (-want +got):\n%s", diff)
	}
	for i := range p.Components[:min(len(p.Components), 10)] {
		checkInstance(t, p.Instance(&p.Components[i], i))
		want, wantErr := json.Marshal(&p.Components[i])
		got, err := AppendCompact([]byte("x"), &p.Components[i])
		if (err != nil) != (wantErr != nil) {
			t.Fatalf("AppendCompact error %v, encoding/json's %v", err, wantErr)
		}
		if diff := cmp.Diff("x"+string(want), string(got)); wantErr == nil && diff != "" {
			t.Errorf("AppendCompact differs from encoding/json (-want +got):\n%s", diff)
		}
	}
}

// checkInstance compares AppendInstance with encoding/json's
// MarshalIndent, with and without HTML escaping.
func checkInstance(t *testing.T, in Instance) {
	t.Helper()
	for _, html := range []bool{false, true} {
		var want bytes.Buffer
		enc := json.NewEncoder(&want)
		enc.SetEscapeHTML(html)
		enc.SetIndent("", "  ")
		wantErr := enc.Encode(&in)
		got, err := AppendInstance(nil, &in, html)
		if (err != nil) != (wantErr != nil) {
			t.Fatalf("AppendInstance error %v, encoding/json's %v", err, wantErr)
		}
		if diff := cmp.Diff(want.String(), string(got)+"\n"); wantErr == nil && diff != "" {
			t.Errorf("AppendInstance (html %v) differs from encoding/json (-want +got):\n%s", html, diff)
		}
	}
}

// full sets every field of a plan, with text that needs escaping.
func full() *Plan {
	secret := &Secret{Path: "vault/<x>", Key: "k\"ey"}
	schema := Schema{Type: "protobuf", Definition: "{\"a\":1}\n", File: "a.proto", Message: "A", Descriptor: []byte{0, 1, 2, 0xff}}
	return &Plan{
		APIVersion: APIVersion,
		Mesh: Mesh{Name: "m", Tenant: "t", Namespace: "n", Source: "dir/x.mesh", Pulsar: &Pulsar{
			URL: "pulsar+ssl://h:6651", AdminURL: "https://h", TrustCerts: secret, SkipHostnameVerification: true,
			Token: secret, OAuth2: &OAuth2{IssuerURL: "https://i", Audience: "a", Scope: "s", Credentials: *secret},
			ClientCert: &ClientCert{Cert: *secret, Key: Secret{Path: "k"}},
		}},
		Params: map[string]string{"b": "2", "a": "x & y", "c": ""},
		Topics: []Topic{
			{Name: "t", FQN: "persistent://t/n/t", Schema: schema, Partitions: 4, External: true, Pattern: "persistent://t/n/.*"},
			{Name: "u", FQN: "persistent://t/n/u", Schema: Schema{Type: "bytes"}},
		},
		Components: []Component{{
			Kind: Function, Name: "f\u2028g", FQFN: "t/n/f", Hash: "h",
			Implementation: Implementation{Kind: "exec", Name: "x", Command: []string{"a", "b\tc"}, Module: "m.wasm"},
			Inputs:         []Input{{Topic: "p", Pattern: true, Schema: schema}, {Topic: "q", Schema: Schema{Type: "string"}}},
			Output:         &Output{Topic: "o", Schema: schema},
			Publishes:      []Output{{Topic: "x", Schema: Schema{Type: "json"}}},
			LogTopic:       "l", DeadLetterTopic: "d",
			Subscription: Subscription{Name: "s", Type: "shared", Position: "earliest"},
			Guarantee:    AtLeastOnce, Replicas: Replicas{Count: 1, Min: 1, Max: 3},
			Resources: Resources{CPU: 0.25, Memory: 128 << 20},
			Timeout:   Duration(90 * time.Second), MaxRetries: 3, RetainOrdering: true, State: true,
			Config: ConfigOf(map[string]any{
				"s": "<tag> \x01 \x7f \xff", "n": nil, "t": true, "i": int64(-7), "j": 12, "f": 1e-7, "g": 1e21, "h": 3.5,
				"z": math.Copysign(0, -1), "num": json.Number("9007199254740993"), "empty": map[string]any{}, "none": []any{},
				"list": []any{"a", []any{int64(1), map[string]any{"k": false}}}, "nil list": []any(nil),
				"other": []string{"x", "y"}, "obj": map[string]any{"b": "c", "a": map[string]any{"d": 1.5}},
			}),
			Secrets: map[string]Secret{"b": *secret, "a": {}},
			Sandbox: &Sandbox{Memory: 1 << 20, Time: Duration(time.Second), Dirs: []string{"/d"}},
			Runtime: Runtime{Binary: "meshrt", Image: "i:1", Args: []string{"-v"}},
		}, {
			Kind: Source, Name: "s", Resources: Resources{CPU: math.Copysign(0, -1)}, Sandbox: &Sandbox{},
		}},
	}
}

func TestEncodeIsEncodingJSON(t *testing.T) {
	tests := map[string]*Plan{
		"empty":       {},
		"empty lists": {APIVersion: APIVersion, Topics: []Topic{}, Components: []Component{}},
		"full":        full(),
		"one field":   {Components: []Component{{Kind: Sink}}},
	}
	for name, p := range tests {
		t.Run(name, func(t *testing.T) { checkEncode(t, p) })
	}
}

func TestEncodeRefusesWhatJSONCannotHold(t *testing.T) {
	for _, v := range []any{math.NaN(), math.Inf(1), json.Number("1x"), func() {}} {
		p := &Plan{Components: []Component{{Name: "f", Config: Config{{Key: "v", Value: v}}}}}
		if _, err := Encode(p); err == nil {
			t.Errorf("Encode of config %T: want an error", v)
		}
	}
	p := &Plan{Components: []Component{{Name: "f", Resources: Resources{CPU: math.NaN()}}}}
	if _, err := Encode(p); err == nil {
		t.Error("Encode of cpu NaN: want an error")
	}
}

// TestWriteToStreams writes a plan larger than one flush through a writer
// that fails, and through one that keeps every write.
func TestWriteToStreams(t *testing.T) {
	p := &Plan{APIVersion: APIVersion}
	for range 2000 {
		p.Components = append(p.Components, full().Components...)
	}
	checkEncode(t, p)
	if err := WriteTo(failingWriter{}, p); !errors.Is(err, errFull) {
		t.Errorf("WriteTo a failing writer: %v, want %v", err, errFull)
	}
}

var errFull = errors.New("disk full")

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errFull }

// FuzzEncode encodes plans read from JSON, with the fuzzer's text and
// number in the fields where any may land, and compares with
// encoding/json.
func FuzzEncode(f *testing.F) {
	data, err := Encode(full())
	if err != nil {
		f.Fatal(err)
	}
	f.Add(data, "a\u2029\xc3", 1e-9)
	f.Add([]byte(`{"components":[{"config":{"a":[1,{"b":null}]}}]}`), "\"\\", math.Copysign(0, -1))
	f.Fuzz(func(t *testing.T, data []byte, s string, x float64) {
		p := &Plan{}
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.UseNumber()
		_ = dec.Decode(p) // what decodes, whole or in part, is a plan to encode
		p.Mesh.Source = s
		p.Params = map[string]string{s: s}
		p.Components = append(p.Components, Component{
			Name: s, Implementation: Implementation{Command: []string{s}},
			Resources: Resources{CPU: x}, Config: ConfigOf(map[string]any{s: x, "s": s}),
		})
		checkEncode(t, p)
	})
}

// TestFullSetsEveryField keeps full() whole: a field added to the plan's
// types that Encode does not write would pass TestEncodeIsEncodingJSON
// unless some plan sets it.
func TestFullSetsEveryField(t *testing.T) {
	set := map[string]bool{}
	all := map[string]bool{}
	markSet(reflect.ValueOf(full()).Elem(), set)
	fieldsOf(reflect.TypeFor[Plan](), all, map[reflect.Type]bool{})
	for name := range all {
		if !set[name] {
			t.Errorf("full() leaves %s unset: set it, so that Encode is compared with encoding/json on it", name)
		}
	}
}

// fieldsOf lists the fields encoding/json writes of the plan's own struct
// types reachable from t, as Type.Field.
func fieldsOf(t reflect.Type, all map[string]bool, seen map[reflect.Type]bool) {
	switch t.Kind() {
	case reflect.Pointer, reflect.Slice, reflect.Map:
		fieldsOf(t.Elem(), all, seen)
		return
	case reflect.Struct:
	default:
		return
	}
	if seen[t] || t.PkgPath() != reflect.TypeFor[Plan]().PkgPath() {
		return
	}
	seen[t] = true
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() || f.Tag.Get("json") == "-" {
			continue
		}
		all[t.Name()+"."+f.Name] = true
		fieldsOf(f.Type, all, seen)
	}
}

// markSet notes each field of the plan's struct types that is not zero
// somewhere in v.
func markSet(v reflect.Value, set map[string]bool) {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			markSet(v.Elem(), set)
		}
	case reflect.Slice:
		for i := range v.Len() {
			markSet(v.Index(i), set)
		}
	case reflect.Map:
		for it := v.MapRange(); it.Next(); {
			markSet(it.Value(), set)
		}
	case reflect.Struct:
		for i := range v.NumField() {
			f := v.Type().Field(i)
			if f.IsExported() && !v.Field(i).IsZero() {
				set[v.Type().Name()+"."+f.Name] = true
				markSet(v.Field(i), set)
			}
		}
	}
}
