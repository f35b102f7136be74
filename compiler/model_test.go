package compiler

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"
	"weak"

	"github.com/google/go-cmp/cmp"
	"github.com/meshc/meshc/internal/meshgen"
	"github.com/meshc/meshc/internal/userconfig"
	"github.com/meshc/meshc/lang"
	"golang.org/x/tools/txtar"
)

// compileFeatures compiles testdata/ok/features.txtar with params.
func compileFeatures(t *testing.T, params map[string]string) (*Mesh, lang.Diagnostics) {
	t.Helper()
	ar, err := txtar.ParseFile("testdata/ok/features.txtar")
	if err != nil {
		t.Fatal(err)
	}
	f, diags := lang.Parse("in.mesh", ar.Files[0].Data)
	if len(diags) > 0 {
		t.Fatal(diags)
	}
	return Compile([]*lang.File{f}, params)
}

func names[T any](xs []T, name func(T) string) []string {
	var out []string
	for _, x := range xs {
		out = append(out, name(x))
	}
	return out
}

func topicName(t *Topic) string         { return t.Name }
func componentName(c *Component) string { return c.Name }

// componentView is the part of a Component a planner reads, as plain values.
type componentView struct {
	Kind           Kind
	Impl           string
	Inputs         []string
	Output         string
	In, Out        string
	Replicas       [3]int
	Guarantee      Guarantee
	Subscription   Subscription
	CPU            float64
	Memory         int64
	Timeout        time.Duration
	MaxRetries     int
	Log, DeadLeter string
	Publishes      []string
	Config         map[string]any
	Secrets        map[string]Secret
}

func view(c *Component) componentView {
	o := c.Options
	v := componentView{Kind: c.Kind, Impl: string(c.Impl.Kind) + ":" + c.Impl.Name + strings.Join(c.Impl.Command, " "),
		Inputs: names(c.Inputs, topicName), Replicas: [3]int{o.Replicas, o.MinReplicas, o.MaxReplicas},
		Guarantee: o.Guarantee, Subscription: o.Subscription, CPU: o.CPU, Memory: o.Memory, Timeout: o.Timeout,
		MaxRetries: o.MaxRetries, Publishes: names(o.Publishes, topicName), Config: userconfig.Map(o.Config), Secrets: o.Secrets}
	if c.Output != nil {
		v.Output = c.Output.Name
	}
	if c.In != nil {
		v.In = c.In.String()
	}
	if c.Out != nil {
		v.Out = c.Out.String()
	}
	if o.Log != nil {
		v.Log = o.Log.Name
	}
	if o.DeadLetter != nil {
		v.DeadLeter = o.DeadLetter.Name
	}
	return v
}

func TestModel(t *testing.T) {
	m, diags := compileFeatures(t, map[string]string{"replicas": "5"})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	if got, want := [3]string{m.Name, m.Tenant, m.Namespace}, [3]string{"shop", "acme", "shop-prod"}; got != want {
		t.Errorf("mesh = %v, want %v", got, want)
	}
	full := map[string]string{}
	for _, tp := range m.Topics {
		full[tp.Name] = tp.FullName
	}
	if got := full["legacy"]; got != "persistent://acme/old/legacy" {
		t.Errorf("legacy full name = %q", got)
	}
	if got := full["fr"]; got != "persistent://acme/shop-prod/fr" {
		t.Errorf("fr full name = %q", got)
	}
	if diff := cmp.Diff([]string{"fr", "rest"}, names(m.Topic("audit").Matches, topicName)); diff != "" {
		t.Errorf("audit matches (-want +got):\n%s", diff)
	}
	if got := m.Topic("orders").Partitions; got != 4 {
		t.Errorf("orders partitions = %d, want 4", got)
	}

	want := map[string]componentView{
		"route": {Kind: Function, Impl: "builtin:route", Inputs: []string{"orders", "retries"}, Output: "rest",
			In: "json<Order>", Out: "json<Order>", Replicas: [3]int{5, 0, 0}, Guarantee: AtLeastOnce,
			Subscription: Subscription{Name: "shop-route", Type: "shared", Position: "latest"},
			CPU:          0.5, Memory: 256 << 20, Timeout: 10 * time.Second, MaxRetries: 3, Log: "logs", DeadLeter: "failed",
			Publishes: []string{"fr", "retries"},
			Config:    map[string]any{"field": "country", "routes": map[string]any{"FR": "fr", "XX": "retries"}}},
		"mail": {Kind: Function, Impl: "go:Mail", Inputs: []string{"fr", "rest"}, Output: "mails",
			In: "json<Mail>", Out: "json<Mail>", Replicas: [3]int{1, 1, 4}, Guarantee: EffectivelyOnce,
			Subscription: Subscription{Name: "shop-mail", Type: "failover", Position: "latest"},
			CPU:          0.5, Memory: 256 << 20, MaxRetries: 0,
			Secrets: map[string]Secret{"smtp": {Path: "mail/smtp", Key: "password"}}},
		"archive": {Kind: Sink, Impl: "exec:./bin/archive --fast", Inputs: []string{"audit"}, In: "json<Mail>",
			Replicas: [3]int{1, 0, 0}, Guarantee: AtLeastOnce,
			Subscription: Subscription{Name: "shop-archive", Type: "shared", Position: "latest"},
			CPU:          0.5, Memory: 256 << 20, MaxRetries: 3},
	}
	for name, w := range want {
		if diff := cmp.Diff(w, view(m.Component(name))); diff != "" {
			t.Errorf("%s (-want +got):\n%s", name, diff)
		}
	}
	// send reads mails, which mail writes; archive reads audit, which
	// matches what route writes; so they come after their writers.
	if diff := cmp.Diff([]string{"route", "mail", "send", "archive", "dead"}, names(m.Order, componentName)); diff != "" {
		t.Errorf("order (-want +got):\n%s", diff)
	}
	edges, err := m.Graph().Edges()
	if err != nil {
		t.Fatal(err)
	}
	if len(edges) != 16 {
		t.Errorf("graph has %d edges, want 16", len(edges))
	}
	e, err := m.Graph().Edge("function:route", "topic:failed")
	if err != nil || e.Properties.Attributes["kind"] != EdgeDeadLetter {
		t.Errorf("route -> failed = %+v, %v; want a dead_letter edge", e.Properties.Attributes, err)
	}
	p := m.Params[0]
	if p.Name != "replicas" || p.Value != int64(5) || !p.Set {
		t.Errorf("param replicas = %+v, want 5 set by the caller", p)
	}
	if got := m.Params[1].Value; got != 10*time.Second {
		t.Errorf("param timeout = %v, want its default 10s", got)
	}
}

func TestParseParam(t *testing.T) {
	tests := []struct {
		typ     ParamType
		text    string
		want    any
		wantErr string
	}{
		{ParamInt, "3", int64(3), ""},
		{ParamInt, "-1", int64(-1), ""},
		{ParamInt, "3.5", nil, `want an int, such as 3, found "3.5"`},
		{ParamFloat, "0.25", 0.25, ""},
		{ParamFloat, "2", 2.0, ""},
		{ParamFloat, "x", nil, `want a number`},
		{ParamString, "", "", ""},
		{ParamString, "a=b", "a=b", ""},
		{ParamBool, "true", true, ""},
		{ParamBool, "yes", nil, `want true or false, found "yes"`},
		{ParamDuration, "1m30s", 90 * time.Second, ""},
		{ParamDuration, "10", nil, `want a duration`},
		{ParamSize, "512Mi", int64(512 << 20), ""},
		{ParamSize, "100M", int64(100e6), ""},
		{ParamSize, "1.5Ki", int64(1536), ""},
		{ParamSize, "1024", int64(1024), ""},
		{ParamSize, "12 GB", nil, `invalid size "12 GB"`},
		{ParamSize, "0.5", nil, `not a whole number of bytes`},
	}
	for _, tt := range tests {
		got, err := ParseParam(tt.typ, tt.text)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("ParseParam(%s, %q) error = %v, want %q", tt.typ, tt.text, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParseParam(%s, %q) = %v (%T), %v; want %v (%T)", tt.typ, tt.text, got, got, err, tt.want, tt.want)
		}
	}
}

// TestParamErrors checks how -p values are reported: typed by their
// declaration, and unknown names caught.
func TestParamErrors(t *testing.T) {
	_, diags := compileFeatures(t, map[string]string{"replicas": "two", "replica": "1"})
	var got []string
	for _, d := range diags {
		if d.Severity == lang.Error {
			got = append(got, d.Message+" | "+d.Hint)
		}
	}
	want := []string{
		`-p replica: the mesh declares no parameter replica | did you mean replicas?`,
		`-p replicas=two: want an int, such as 3, found "two" | `,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// TestDeterministic compiles the same mesh many times and expects the same
// diagnostics and order each time, whatever Go's map order does.
func TestDeterministic(t *testing.T) {
	src, err := os.ReadFile("testdata/errors/multi.txtar")
	if err != nil {
		t.Fatal(err)
	}
	ar := txtar.Parse(src)
	f, _ := lang.Parse("in.mesh", ar.Files[0].Data)
	_, first := Compile([]*lang.File{f}, nil)
	for range 20 {
		_, again := Compile([]*lang.File{f}, nil)
		if diff := cmp.Diff(first.Error(), again.Error()); diff != "" {
			t.Fatalf("diagnostics changed between runs:\n%s", diff)
		}
	}
}

func TestParseSize(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want int64
		err  string
	}{
		{"1024", 1024, ""},
		{"512Mi", 512 << 20, ""},
		{"2Gi", 2 << 30, ""},
		{"100M", 100e6, ""},
		{"1.5Ki", 1536, ""},
		{"1P", 1e15, ""},
		{"0", 0, ""},
		{"", 0, "invalid size"},
		{"Mi", 0, "invalid size"},
		{"1.Mi", 0, "invalid size"},
		{".5Mi", 0, "invalid size"},
		{"1iM", 0, "invalid size"},
		{"1MM", 0, "invalid size"},
		{"1mb", 0, "invalid size"},
		{"-1", 0, "invalid size"},
		{"1.1", 0, "not a whole number of bytes"},
		{"9000000Pi", 0, "too large"},
	} {
		got, err := ParseSize(tt.in)
		if got != tt.want || (err == nil) != (tt.err == "") || (err != nil && !strings.Contains(err.Error(), tt.err)) {
			t.Errorf("ParseSize(%q) = %d, %v; want %d, %q", tt.in, got, err, tt.want, tt.err)
		}
	}
}

// TestModelLetsGoOfSyntax checks that the model keeps no pointer into the
// syntax tree, so that the tree can be collected once Compile returns.
func TestModelLetsGoOfSyntax(t *testing.T) {
	var (
		files []*lang.File
		attrs []weak.Pointer[lang.Attr]
	)
	for i, src := range meshgen.Files(meshgen.Mixed, 300, 100) {
		f, diags := lang.Parse(fmt.Sprintf("mesh%d.mesh", i), []byte(src))
		if len(diags) > 0 {
			t.Fatal(diags)
		}
		files = append(files, f)
		for _, d := range f.Decls {
			if fn, ok := d.(*lang.Function); ok && fn.Body != nil {
				for _, a := range fn.Body.Attrs {
					attrs = append(attrs, weak.Make(a))
				}
			}
		}
	}
	m, diags := Compile(files, nil)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	files = nil
	runtime.GC()
	runtime.GC()
	alive := 0
	for _, w := range attrs {
		if w.Value() != nil {
			alive++
		}
	}
	if alive > 0 {
		t.Errorf("%d of %d attributes of the syntax tree are alive after Compile", alive, len(attrs))
	}
	runtime.KeepAlive(m)
}
