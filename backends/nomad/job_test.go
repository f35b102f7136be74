package nomad

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"text/template"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/hashicorp/nomad/api"

	"github.com/meshc/meshc/compiler"
	"github.com/meshc/meshc/internal/meshgen"
	"github.com/meshc/meshc/internal/plantest"
	"github.com/meshc/meshc/lang"
	"github.com/meshc/meshc/planner"
	"github.com/meshc/meshc/planner/plan"
)

var update = flag.Bool("update", false, "rewrite golden files")

// planFile compiles and plans a mesh file.
func planFile(t *testing.T, name string, params map[string]string) *plan.Plan {
	t.Helper()
	src, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
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

func component(p *plan.Plan, name string) *plan.Component {
	for i := range p.Components {
		if p.Components[i].Name == name {
			return &p.Components[i]
		}
	}
	return nil
}

func groupOf(job *api.Job, name string) *api.TaskGroup {
	for _, g := range job.TaskGroups {
		if *g.Name == name {
			return g
		}
	}
	return nil
}

// TestTaskDrivers checks how each driver runs the instance binary.
func TestTaskDrivers(t *testing.T) {
	p := planFile(t, "testdata/orders.mesh", nil)
	args := []string{"-plan", "${NOMAD_TASK_DIR}/instance.json"}
	tests := []struct {
		name      string
		opts      Options
		config    map[string]any
		artifacts []*api.TaskArtifact
		env       map[string]string
	}{{
		name:   "raw_exec runs the plan's binary by default",
		opts:   Options{},
		config: map[string]any{"command": "meshrt", "args": args},
		env:    map[string]string{"MESHC_LISTEN": "${NOMAD_ADDR_http}", "MESHC_PULSAR_URL": "pulsar://127.0.0.1:6650"},
	}, {
		name:   "exec runs a binary by path",
		opts:   Options{Driver: Exec, Binary: "/usr/local/bin/meshrt", PulsarURL: "pulsar://pulsar.service:6650"},
		config: map[string]any{"command": "/usr/local/bin/meshrt", "args": args},
		env:    map[string]string{"MESHC_LISTEN": "${NOMAD_ADDR_http}", "MESHC_PULSAR_URL": "pulsar://pulsar.service:6650"},
	}, {
		name:      "exec downloads an artifact",
		opts:      Options{Driver: Exec, Artifact: "https://example.com/dl/meshrt?archive=false", Binary: "ignored"},
		config:    map[string]any{"command": "local/meshrt", "args": args},
		artifacts: []*api.TaskArtifact{{GetterSource: ptr("https://example.com/dl/meshrt?archive=false"), RelativeDest: ptr("local/")}},
		env:       map[string]string{"MESHC_LISTEN": "${NOMAD_ADDR_http}", "MESHC_PULSAR_URL": "pulsar://127.0.0.1:6650"},
	}, {
		name: "docker runs an image with the binary as entrypoint",
		opts: Options{Driver: Docker, Image: "meshc/meshrt:1"},
		config: map[string]any{"image": "meshc/meshrt:1", "entrypoint": []string{"meshrt"}, "args": args,
			"ports": []string{"http"}},
		env: map[string]string{"MESHC_LISTEN": "0.0.0.0:${NOMAD_PORT_http}", "MESHC_PULSAR_URL": "pulsar://127.0.0.1:6650"},
	}, {
		name: "docker runs a binary of the user's image",
		opts: Options{Driver: Docker, Image: "shop/orders:2", Binary: "/usr/bin/orders-rt"},
		config: map[string]any{"image": "shop/orders:2", "entrypoint": []string{"/usr/bin/orders-rt"}, "args": args,
			"ports": []string{"http"}},
		env: map[string]string{"MESHC_LISTEN": "0.0.0.0:${NOMAD_PORT_http}", "MESHC_PULSAR_URL": "pulsar://127.0.0.1:6650"},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			job, err := Job(p, tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			task := groupOf(job, "score").Tasks[0]
			if want := tt.opts.Driver; task.Driver != want && (want != "" || task.Driver != RawExec) {
				t.Errorf("driver %q, want %q", task.Driver, tt.opts.Driver)
			}
			if diff := cmp.Diff(tt.config, task.Config); diff != "" {
				t.Errorf("config (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.artifacts, task.Artifacts); diff != "" {
				t.Errorf("artifacts (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.env, task.Env); diff != "" {
				t.Errorf("env (-want +got):\n%s", diff)
			}
		})
	}
}

func TestJobErrors(t *testing.T) {
	p := planFile(t, "testdata/orders.mesh", nil)
	tests := []struct {
		opts Options
		want string
	}{
		{Options{Driver: "java"}, `driver "java": choose raw_exec, exec or docker`},
		{Options{Driver: Docker}, "component parse_order: the docker driver needs an image"},
		{Options{Driver: Docker, Image: "x", Artifact: "https://x/meshrt"}, "an artifact is for the raw_exec and exec drivers"},
	}
	for _, tt := range tests {
		_, err := Job(p, tt.opts)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Job(%+v) = %v, want an error with %q", tt.opts, err, tt.want)
		}
	}
}

// TestGroups checks what each group takes from its component.
func TestGroups(t *testing.T) {
	p := planFile(t, "testdata/orders.mesh", nil)
	job, err := Job(p, Options{})
	if err != nil {
		t.Fatal(err)
	}
	type view struct {
		Count     int
		Scaling   *api.ScalingPolicy
		Resources *api.Resources
		Meta      map[string]string
		Service   string
	}
	tests := []struct {
		group string
		want  view
	}{{
		group: "parse_order",
		want: view{Count: 2, Scaling: &api.ScalingPolicy{Min: ptr[int64](2), Max: ptr[int64](6), Enabled: ptr(true)},
			Resources: &api.Resources{CPU: ptr(250), MemoryMB: ptr(96)},
			Meta: map[string]string{MetaComponent: "parse_order", MetaKind: "function", MetaFQFN: "shop/prod/parse_order",
				MetaHash: component(p, "parse_order").Hash},
			Service: "orders-parse-order"},
	}, {
		group: "score",
		want: view{Count: 3, Resources: &api.Resources{CPU: ptr(100), MemoryMB: ptr(128)},
			Meta: map[string]string{MetaComponent: "score", MetaKind: "function", MetaFQFN: "shop/prod/score",
				MetaHash: component(p, "score").Hash},
			Service: "orders-score"},
	}, {
		group: "audit",
		want: view{Count: 1, Resources: &api.Resources{CPU: ptr(100), MemoryMB: ptr(128)},
			Meta: map[string]string{MetaComponent: "audit", MetaKind: "sink", MetaFQFN: "shop/prod/audit",
				MetaHash: component(p, "audit").Hash},
			Service: "orders-audit"},
	}}
	for _, tt := range tests {
		t.Run(tt.group, func(t *testing.T) {
			g := groupOf(job, tt.group)
			got := view{Count: *g.Count, Scaling: g.Scaling, Resources: g.Tasks[0].Resources, Meta: g.Meta,
				Service: g.Services[0].Name}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			check := g.Services[0].Checks[0]
			if check.Type != "http" || check.Path != "/healthz" || g.Services[0].PortLabel != "http" {
				t.Errorf("check %+v on port %q, want http /healthz on http", check, g.Services[0].PortLabel)
			}
		})
	}
	if diff := cmp.Diff(map[string]string{MetaMesh: "orders", MetaTenant: "shop", MetaNamespace: "prod"}, job.Meta); diff != "" {
		t.Errorf("job meta (-want +got):\n%s", diff)
	}
}

// TestInstanceTemplate renders each instance template as Nomad would and
// reads it as the runtime does.
func TestInstanceTemplate(t *testing.T) {
	p := planFile(t, "testdata/orders.mesh", nil)
	job, err := Job(p, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range p.Components {
		c := &p.Components[i]
		tmpl := groupOf(job, c.Name).Tasks[0].Templates[0]
		if *tmpl.DestPath != "local/instance.json" {
			t.Errorf("%s: template goes to %s", c.Name, *tmpl.DestPath)
		}
		parsed, err := template.New(c.Name).Delims(*tmpl.LeftDelim, *tmpl.RightDelim).
			Funcs(template.FuncMap{"env": func(string) string { return "4" }}).Parse(*tmpl.EmbeddedTmpl)
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		if err := parsed.Execute(&b, nil); err != nil {
			t.Fatal(err)
		}
		got, err := plan.DecodeInstance(b.Bytes())
		if err != nil {
			t.Fatalf("%s: %v\n%s", c.Name, err, b.String())
		}
		want := p.Instance(c, 4)
		want.Component.Replicas = plan.Replicas{}
		if diff := cmp.Diff(&want, got); diff != "" {
			t.Errorf("%s: instance plan (-want +got):\n%s", c.Name, diff)
		}
	}
}

// TestReplicasChangeOnlyCounts: a new replica count changes the group's
// count and nothing Nomad would restart instances for.
func TestReplicasChangeOnlyCounts(t *testing.T) {
	a, err := Job(planFile(t, "../../examples/wordcount.mesh", nil), Options{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := Job(planFile(t, "../../examples/wordcount.mesh", map[string]string{"replicas": "5"}), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if *groupOf(b, "split").Count != 5 {
		t.Fatalf("split count %d, want 5", *groupOf(b, "split").Count)
	}
	groupOf(b, "split").Count = groupOf(a, "split").Count
	if diff := cmp.Diff(a, b); diff != "" {
		t.Errorf("jobs differ in more than the count (-2 replicas +5 replicas):\n%s", diff)
	}
}

func TestSecretsTemplate(t *testing.T) {
	p := planFile(t, "testdata/orders.mesh", nil)
	job, err := Job(p, Options{})
	if err != nil {
		t.Fatal(err)
	}
	tmpls := groupOf(job, "parse_order").Tasks[0].Templates
	if len(tmpls) != 2 {
		t.Fatalf("%d templates, want the plan's and the secrets'", len(tmpls))
	}
	want := &api.Template{
		EmbeddedTmpl: ptr(`{{ with nomadVar "nomad/jobs/orders" }}MESHC_SECRET_API_KEY={{ (index . "api_key").Value | toJSON }}{{ end }}` + "\n" +
			`{{ with nomadVar "shop/db" }}MESHC_SECRET_DB_PASSWORD={{ (index . "pass-word").Value | toJSON }}{{ end }}` + "\n"),
		DestPath: ptr("secrets/meshc.env"), Envvars: ptr(true), ChangeMode: ptr("restart"),
	}
	if diff := cmp.Diff(want, tmpls[1]); diff != "" {
		t.Errorf("secrets template (-want +got):\n%s", diff)
	}
	if len(groupOf(job, "score").Tasks[0].Templates) != 1 {
		t.Errorf("a component without secrets has a secrets template")
	}
}

// TestJSONRoundTrip: the JSON reads back into the same job, so leaving
// out unset fields loses nothing.
func TestJSONRoundTrip(t *testing.T) {
	for _, o := range []Options{{}, {Driver: Docker, Image: "meshc/meshrt:1"}, {Driver: Exec, Artifact: "https://example.com/meshrt"}} {
		job, err := Job(planFile(t, "testdata/orders.mesh", nil), o)
		if err != nil {
			t.Fatal(err)
		}
		data, err := JSON(job)
		if err != nil {
			t.Fatal(err)
		}
		var got struct{ Job *api.Job }
		if err := json.Unmarshal(data, &got); err != nil {
			t.Fatal(err)
		}
		// JSON numbers in the free-form config come back as float64.
		if diff := cmp.Diff(job, got.Job, cmp.Transformer("config", configJSON)); diff != "" {
			t.Errorf("%s: job after JSON (-want +got):\n%s", o.Driver, diff)
		}
	}
}

func configJSON(m map[string]any) string {
	b, _ := json.Marshal(m)
	return string(b)
}

func TestDurationText(t *testing.T) {
	for d, want := range map[time.Duration]string{
		5 * time.Second: "5s", 5 * time.Minute: "5m", 90 * time.Second: "1m30s", 2 * time.Hour: "2h",
		time.Hour + time.Second: "1h0m1s", 1500 * time.Millisecond: "1.5s",
	} {
		if got := durationText(d); got != want {
			t.Errorf("durationText(%v) = %q, want %q", d, got, want)
		}
	}
}

func TestServiceName(t *testing.T) {
	for _, tt := range []struct{ mesh, comp, want string }{
		{"orders", "parse_order", "orders-parse-order"},
		{"Orders", "__x__", "orders-x"},
		{"m", strings.Repeat("a", 70), "m-" + strings.Repeat("a", 61)},
		{"m", strings.Repeat("a", 60) + "_b", "m-" + strings.Repeat("a", 60)},
		{"m", "\u212aelvin", "m-kelvin"}, // the Kelvin sign's lower case is k
		{"Ünï", "x", "n-x"},
		{"a--b", "c", "a-b-c"},
		{"-", "-", ""},
	} {
		if got := ServiceName(tt.mesh, tt.comp); got != tt.want {
			t.Errorf("ServiceName(%q, %q) = %q, want %q", tt.mesh, tt.comp, got, tt.want)
		}
	}
}

// TestGolden compares the emitted files with testdata/golden/CASE/.
func TestGolden(t *testing.T) {
	tests := []struct {
		name string
		mesh string
		opts Options
	}{
		{"wordcount-raw_exec", "../../examples/wordcount.mesh", Options{Binary: "/usr/local/bin/meshrt"}},
		{"orders-exec", "testdata/orders.mesh", Options{Driver: Exec, Artifact: "https://example.com/dl/meshrt"}},
		{"orders-docker", "testdata/orders.mesh", Options{Driver: Docker, Image: "meshc/meshrt:1", PulsarURL: "pulsar://pulsar:6650"}},
		{"secured-raw_exec", "testdata/secured.mesh", Options{Binary: "/usr/local/bin/meshrt"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			files, err := Files(planFile(t, tt.mesh, nil), tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			dir := filepath.Join("testdata", "golden", tt.name)
			for _, f := range files {
				path := filepath.Join(dir, f.Path)
				data, err := f.Bytes()
				if err != nil {
					t.Fatal(err)
				}
				if *update {
					if err := os.MkdirAll(dir, 0o755); err != nil {
						t.Fatal(err)
					}
					if err := os.WriteFile(path, data, 0o644); err != nil {
						t.Fatal(err)
					}
					continue
				}
				want, err := os.ReadFile(path)
				if err != nil {
					t.Fatalf("%v (run go test -update to write it)", err)
				}
				if diff := cmp.Diff(string(want), string(data)); diff != "" {
					t.Errorf("%s (-want +got):\n%s", path, diff)
				}
			}
		})
	}
}

// TestHCLFormatted: the HCL of every example, and of a generated mesh of
// every kind of component, is laid out as hclwrite.Format lays it out,
// and parses.
func TestHCLFormatted(t *testing.T) {
	meshes, err := filepath.Glob("../../examples/*.mesh")
	if err != nil {
		t.Fatal(err)
	}
	plans := map[string]*plan.Plan{}
	for _, m := range append(meshes, "testdata/orders.mesh", "testdata/secured.mesh") {
		plans[m] = planFile(t, m, nil)
	}
	plans["mixed"] = plantest.Generated(t, meshgen.Mixed, 40)
	for name, p := range plans {
		for _, o := range []Options{{Binary: "/usr/local/bin/meshrt"}, {Driver: Docker, Image: "meshc/meshrt:1"}} {
			job, err := Job(p, o)
			if err != nil {
				t.Fatal(err)
			}
			got, err := HCL(job)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(string(hclwrite.Format(got)), string(got)); diff != "" {
				t.Errorf("%s %s: not as hclwrite.Format lays it out (-formatted +got):\n%s", name, o.Driver, diff)
			}
			if _, diags := hclwrite.ParseConfig(got, name, hcl.InitialPos); diags.HasErrors() {
				t.Errorf("%s %s: %v", name, o.Driver, diags)
			}
		}
	}
}
