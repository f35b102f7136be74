package nomad

import (
	stdcmp "cmp"
	"fmt"
	"maps"
	"math"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/nomad/api"

	"github.com/meshc/meshc/backends"
	"github.com/meshc/meshc/internal/meshgen"
	"github.com/meshc/meshc/internal/plantest"
	"github.com/meshc/meshc/planner/plan"
)

// The job as it was built before Job shared its constant parts between
// groups: every group and task of its own, made the plain way, each value
// a fresh allocation. TestJobReference holds Job to it.

// referenceJob builds the Nomad job of a plan as Job built it before its
// groups shared their constant parts and one allocation: one job named after the mesh, with a
// task group per component whose count is its replica count.
func referenceJob(p *plan.Plan, o Options) (*api.Job, error) {
	o.PulsarURL = backends.PulsarURL(p, o.PulsarURL, DefaultPulsarURL)
	o, err := o.withDefaults()
	if err != nil {
		return nil, err
	}
	job := api.NewServiceJob(p.Mesh.Name, p.Mesh.Name, "", 0)
	// Nomad's defaults, not choices of ours.
	job.Region, job.Priority = nil, nil
	job.Meta = map[string]string{
		MetaMesh: p.Mesh.Name, MetaTenant: p.Mesh.Tenant, MetaNamespace: p.Mesh.Namespace,
	}
	job.Update = ptr(updateStrategy)
	b := newReferenceBuilder(p, o)
	job.TaskGroups = make([]*api.TaskGroup, 0, len(p.Components))
	for i := range p.Components {
		g, err := b.group(&p.Components[i])
		if err != nil {
			return nil, fmt.Errorf("component %s: %w", p.Components[i].Name, err)
		}
		job.AddTaskGroup(g)
	}
	return job, nil
}

// referenceBuilder builds the groups of a plan's job; what they share is worked
// out once.
type referenceBuilder struct {
	p     *plan.Plan
	o     Options
	env   map[string]string // how instances reach Pulsar
	files []backends.PulsarFile
}

func newReferenceBuilder(p *plan.Plan, o Options) *referenceBuilder {
	conn, files := backends.PulsarConnection(p, o.PulsarURL, pulsarDir)
	return &referenceBuilder{p: p, o: o, env: backends.EnvMap(conn), files: files}
}

func (b *referenceBuilder) group(c *plan.Component) (*api.TaskGroup, error) {
	g := api.NewTaskGroup(c.Name, c.Replicas.Count)
	g.Meta = map[string]string{
		MetaComponent: c.Name, MetaKind: string(c.Kind), MetaFQFN: c.FQFN, MetaHash: c.Hash,
	}
	g.RestartPolicy = ptr(restartPolicy)
	g.ReschedulePolicy = ptr(reschedulePolicy)
	g.Networks = []*api.NetworkResource{{DynamicPorts: []api.Port{{Label: httpPort}}}}
	g.Services = []*api.Service{referenceService(b.p, c)}
	if r := c.Replicas; r.Max > 0 {
		g.Count = ptr(max(r.Count, r.Min))
		g.Scaling = &api.ScalingPolicy{Min: ptr(int64(r.Min)), Max: ptr(int64(r.Max)), Enabled: ptr(true)}
	}
	t, err := b.task(c)
	if err != nil {
		return nil, err
	}
	g.AddTask(t)
	return g, nil
}

// referenceService registers every instance in Nomad's own service catalogue, with
// the runtime's /healthz as its check, which deployments wait on.
func referenceService(p *plan.Plan, c *plan.Component) *api.Service {
	return &api.Service{
		Name:      ServiceName(p.Mesh.Name, c.Name),
		Provider:  "nomad",
		PortLabel: httpPort,
		Tags:      []string{"meshc", string(c.Kind)},
		Checks: []api.ServiceCheck{{
			Name: "healthz", Type: "http", Path: "/healthz",
			Interval: 5 * time.Second, Timeout: 2 * time.Second,
		}},
	}
}

func (b *referenceBuilder) task(c *plan.Component) (*api.Task, error) {
	o := b.o
	t := api.NewTask(c.Name, o.Driver)
	args := append([]string{"-plan", "${NOMAD_TASK_DIR}/instance.json"}, c.Runtime.Args...)
	listen := "${NOMAD_ADDR_http}"
	switch {
	case o.Driver == Docker:
		image := stdcmp.Or(o.Image, c.Runtime.Image)
		if image == "" {
			return nil, fmt.Errorf("the docker driver needs an image: set one with the image option or in the plan's runtime")
		}
		// The entrypoint is set, so the image's own does not come first.
		t.SetConfig("image", image)
		t.SetConfig("entrypoint", []string{stdcmp.Or(o.Binary, c.Runtime.Binary, "meshrt")})
		t.SetConfig("args", args)
		t.SetConfig("ports", []string{httpPort})
		listen = "0.0.0.0:${NOMAD_PORT_http}"
	case o.Artifact != "":
		t.Artifacts = []*api.TaskArtifact{{GetterSource: ptr(o.Artifact), RelativeDest: ptr("local/")}}
		t.SetConfig("command", "local/"+path.Base(urlPath(o.Artifact)))
		t.SetConfig("args", args)
	default:
		bin := stdcmp.Or(o.Binary, c.Runtime.Binary)
		if bin == "" {
			return nil, fmt.Errorf("no instance binary: set one with the binary option or in the plan's runtime")
		}
		t.SetConfig("command", bin)
		t.SetConfig("args", args)
	}
	t.Env = make(map[string]string, len(b.env)+2)
	maps.Copy(t.Env, b.env)
	t.Env["MESHC_PULSAR_URL"], t.Env["MESHC_LISTEN"] = o.PulsarURL, listen
	t.Resources = referenceResources(c.Resources)
	t.KillTimeout = ptr(killTimeout)
	tmpl, err := referenceInstanceTemplate(b.p, c)
	if err != nil {
		return nil, err
	}
	t.Templates = []*api.Template{tmpl}
	if len(c.Secrets) > 0 {
		t.Templates = append(t.Templates, referenceSecretsTemplate(c.Secrets))
	}
	for _, f := range b.files {
		t.Templates = append(t.Templates, referencePulsarTemplate(f))
	}
	return t, nil
}

// referencePulsarTemplate writes one secret of the mesh's pulsar block from its
// Nomad Variable into a file of the task's secrets folder, readable by the
// task's user alone; a changed secret restarts the task, which takes up a
// renewed certificate as well as a token.
func referencePulsarTemplate(f backends.PulsarFile) *api.Template {
	return &api.Template{
		EmbeddedTmpl: ptr(fmt.Sprintf("{{ with nomadVar %s }}{{ (index . %s).Value }}{{ end }}",
			strconv.Quote(f.Secret.Path), strconv.Quote(f.Secret.Key))),
		DestPath:   ptr("secrets/pulsar/" + f.Name),
		Perms:      ptr("0400"),
		ChangeMode: ptr("restart"),
	}
}

func referenceResources(r plan.Resources) *api.Resources {
	cpu, mem := defaultCPU, defaultMemoryMB
	if r.CPU > 0 {
		cpu = int(math.Ceil(r.CPU * 1000)) // Nomad counts CPU in MHz; a core is taken as 1000
	}
	if r.Memory > 0 {
		mem = int((r.Memory + 1<<20 - 1) >> 20)
	}
	return &api.Resources{CPU: ptr(cpu), MemoryMB: ptr(mem)}
}

// referenceInstanceTemplate renders an instance's plan into its task folder, with
// the replica index Nomad gives the allocation.
func referenceInstanceTemplate(p *plan.Plan, c *plan.Component) (*api.Template, error) {
	data, err := instanceReference(p, c)
	if err != nil {
		return nil, err
	}
	return &api.Template{
		EmbeddedTmpl: ptr(data),
		DestPath:     ptr("local/instance.json"),
		ChangeMode:   ptr("noop"), // the data is fixed; a new plan is a new job version
		LeftDelim:    ptr(leftDelim),
		RightDelim:   ptr(rightDelim),
	}, nil
}

// referenceSecretsTemplate reads each secret from a Nomad Variable into the
// environment variable the runtime looks for, so values never appear in
// the job. The task restarts when a variable changes.
func referenceSecretsTemplate(secrets map[string]plan.Secret) *api.Template {
	var b strings.Builder
	for _, name := range slices.Sorted(maps.Keys(secrets)) {
		s := secrets[name]
		// toJSON quotes the value the way Nomad's env file parser reads.
		fmt.Fprintf(&b, "{{ with nomadVar %s }}MESHC_SECRET_%s={{ (index . %s).Value | toJSON }}{{ end }}\n",
			strconv.Quote(s.Path), strings.ToUpper(name), strconv.Quote(s.Key))
	}
	return &api.Template{
		EmbeddedTmpl: ptr(b.String()),
		DestPath:     ptr("secrets/meshc.env"),
		Envvars:      ptr(true),
		ChangeMode:   ptr("restart"),
	}
}

// TestJobReference: Job builds the same job as the plain builder, for
// every example, the test meshes and a generated mesh of every kind of
// component, with each driver; and the job, whose groups share values,
// is written as the same HCL and JSON as the plain one, where no two
// groups share anything.
func TestJobReference(t *testing.T) {
	meshes, err := filepath.Glob("../../examples/*.mesh")
	if err != nil {
		t.Fatal(err)
	}
	plans := map[string]*plan.Plan{}
	for _, m := range append(meshes, "testdata/orders.mesh", "testdata/secured.mesh", "testdata/e2e.mesh", "testdata/e2e-secured.mesh") {
		plans[m] = planFile(t, m, nil)
	}
	plans["mixed"] = plantest.Generated(t, meshgen.Mixed, 40)
	options := []Options{
		{},
		{Binary: "/usr/local/bin/meshrt", PulsarURL: "pulsar://pulsar:6650"},
		{Driver: Exec, Artifact: "https://example.com/dl/meshrt?archive=false"},
		{Driver: Docker, Image: "meshc/meshrt:1"},
		{Driver: Docker},
	}
	for name, p := range plans {
		for _, o := range options {
			want, wantErr := referenceJob(p, o)
			got, err := Job(p, o)
			if fmt.Sprint(wantErr) != fmt.Sprint(err) {
				t.Errorf("%s %+v: error %v, want %v", name, o, err, wantErr)
				continue
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("%s %+v (-plain +Job):\n%s", name, o, diff)
			}
			if wantErr != nil {
				continue
			}
			for _, write := range []func(*api.Job) ([]byte, error){HCL, JSON} {
				wantText, err := write(want)
				if err != nil {
					t.Fatal(err)
				}
				gotText, err := write(got)
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(string(wantText), string(gotText)); diff != "" {
					t.Errorf("%s %+v (-plain +Job):\n%s", name, o, diff)
				}
			}
		}
	}
}
