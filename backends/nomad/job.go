package nomad

import (
	"bytes"
	"cmp"
	"fmt"
	"maps"
	"math"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/hashicorp/nomad/api"

	"github.com/meshc/meshc/backends"
	"github.com/meshc/meshc/planner/plan"
)

// Drivers are the task drivers a job can use.
const (
	RawExec = "raw_exec"
	Exec    = "exec"
	Docker  = "docker"
)

// DefaultPulsarURL is where instances find Pulsar unless told otherwise:
// a broker on each node's loopback.
const DefaultPulsarURL = "pulsar://127.0.0.1:6650"

// Meta keys. They are HCL identifiers, so the HCL form can carry them, and
// readable in a task's environment as NOMAD_META_<key>.
const (
	MetaMesh      = "meshc_mesh"
	MetaTenant    = "meshc_tenant"
	MetaNamespace = "meshc_namespace"
	MetaComponent = "meshc_component"
	MetaKind      = "meshc_kind"
	MetaFQFN      = "meshc_fqfn"
	MetaHash      = "meshc_hash"
	// MetaStoppedCount remembers a stopped function's count for start.
	MetaStoppedCount = "meshc_stopped_count"
)

// Options say how instances run on the nodes.
type Options struct {
	// Driver is raw_exec (the default), exec or docker.
	Driver string
	// PulsarURL is the service URL instances connect to; when empty, the
	// plan's, else DefaultPulsarURL.
	PulsarURL string
	// Binary is the instance binary's path on the nodes (raw_exec, exec)
	// or in the image (docker); the plan's runtime binary when empty.
	Binary string
	// Artifact is a URL the exec drivers download the instance binary
	// from into the task's local folder; Binary is then ignored.
	Artifact string
	// Image is the container image (docker); the plan's when empty.
	Image string
}

// Defaults for every group. Instances hold no local state (state lives in
// Pulsar), so moving them is cheap.
var (
	defaultCPU      = 100 // MHz
	defaultMemoryMB = 128
	killTimeout     = 30 * time.Second // instances settle messages in flight on SIGTERM

	restartPolicy = api.RestartPolicy{
		Attempts: ptr(3), Interval: ptr(5 * time.Minute), Delay: ptr(10 * time.Second), Mode: ptr("fail"),
	}
	reschedulePolicy = api.ReschedulePolicy{
		Delay: ptr(30 * time.Second), DelayFunction: ptr("exponential"), MaxDelay: ptr(10 * time.Minute),
		Unlimited: ptr(true),
	}
	updateStrategy = api.UpdateStrategy{
		MaxParallel: ptr(1), HealthCheck: ptr("checks"), MinHealthyTime: ptr(5 * time.Second),
		HealthyDeadline: ptr(2 * time.Minute), ProgressDeadline: ptr(5 * time.Minute), AutoRevert: ptr(false),
	}
)

// Job builds the Nomad job of a plan: one job named after the mesh, with a
// task group per component whose count is its replica count.
func Job(p *plan.Plan, o Options) (*api.Job, error) {
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
	b := newBuilder(p, o)
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

func (o Options) withDefaults() (Options, error) {
	switch o.Driver {
	case "":
		o.Driver = RawExec
	case RawExec, Exec, Docker:
	default:
		return o, fmt.Errorf("driver %q: choose raw_exec, exec or docker", o.Driver)
	}
	if o.Artifact != "" && o.Driver == Docker {
		return o, fmt.Errorf("an artifact is for the raw_exec and exec drivers; docker runs an image")
	}
	return o, nil
}

// builder builds the groups of a plan's job; what they share is worked
// out once.
type builder struct {
	p     *plan.Plan
	o     Options
	env   map[string]string // how instances reach Pulsar
	files []backends.PulsarFile
	in    *instanceWriter
}

func newBuilder(p *plan.Plan, o Options) *builder {
	conn, files := backends.PulsarConnection(p, o.PulsarURL, pulsarDir)
	return &builder{p: p, o: o, env: backends.EnvMap(conn), files: files, in: newInstanceWriter(p)}
}

func (b *builder) group(c *plan.Component) (*api.TaskGroup, error) {
	g := api.NewTaskGroup(c.Name, c.Replicas.Count)
	g.Meta = map[string]string{
		MetaComponent: c.Name, MetaKind: string(c.Kind), MetaFQFN: c.FQFN, MetaHash: c.Hash,
	}
	g.RestartPolicy = ptr(restartPolicy)
	g.ReschedulePolicy = ptr(reschedulePolicy)
	g.Networks = []*api.NetworkResource{{DynamicPorts: []api.Port{{Label: httpPort}}}}
	g.Services = []*api.Service{service(b.p, c)}
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

// service registers every instance in Nomad's own service catalogue, with
// the runtime's /healthz as its check, which deployments wait on.
func service(p *plan.Plan, c *plan.Component) *api.Service {
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

// ServiceName is the Nomad service of a component: Nomad wants RFC 1123
// names, which component names with underscores are not. It is mesh-
// component in lower case, each run of other characters than a-z and 0-9
// a dash, none at either end, cut to 63 bytes.
func ServiceName(mesh, component string) string {
	b := make([]byte, 0, len(mesh)+1+len(component))
	dash := false
	for _, s := range [...]string{mesh, "-", component} {
		for _, r := range s {
			r = unicode.ToLower(r)
			if ('a' > r || r > 'z') && ('0' > r || r > '9') {
				dash = true
				continue
			}
			if dash && len(b) > 0 {
				b = append(b, '-')
			}
			dash = false
			b = append(b, byte(r))
		}
	}
	if len(b) > 63 {
		b = bytes.TrimRight(b[:63], "-")
	}
	return string(b)
}

func (b *builder) task(c *plan.Component) (*api.Task, error) {
	o := b.o
	t := api.NewTask(c.Name, o.Driver)
	args := append([]string{"-plan", "${NOMAD_TASK_DIR}/instance.json"}, c.Runtime.Args...)
	listen := "${NOMAD_ADDR_http}"
	switch {
	case o.Driver == Docker:
		image := cmp.Or(o.Image, c.Runtime.Image)
		if image == "" {
			return nil, fmt.Errorf("the docker driver needs an image: set one with the image option or in the plan's runtime")
		}
		// The entrypoint is set, so the image's own does not come first.
		t.SetConfig("image", image)
		t.SetConfig("entrypoint", []string{cmp.Or(o.Binary, c.Runtime.Binary, "meshrt")})
		t.SetConfig("args", args)
		t.SetConfig("ports", []string{httpPort})
		listen = "0.0.0.0:${NOMAD_PORT_http}"
	case o.Artifact != "":
		t.Artifacts = []*api.TaskArtifact{{GetterSource: ptr(o.Artifact), RelativeDest: ptr("local/")}}
		t.SetConfig("command", "local/"+path.Base(urlPath(o.Artifact)))
		t.SetConfig("args", args)
	default:
		bin := cmp.Or(o.Binary, c.Runtime.Binary)
		if bin == "" {
			return nil, fmt.Errorf("no instance binary: set one with the binary option or in the plan's runtime")
		}
		t.SetConfig("command", bin)
		t.SetConfig("args", args)
	}
	t.Env = make(map[string]string, len(b.env)+2)
	maps.Copy(t.Env, b.env)
	t.Env["MESHC_PULSAR_URL"], t.Env["MESHC_LISTEN"] = o.PulsarURL, listen
	t.Resources = resources(c.Resources)
	t.KillTimeout = ptr(killTimeout)
	tmpl, err := instanceTemplate(b.in, c)
	if err != nil {
		return nil, err
	}
	t.Templates = []*api.Template{tmpl}
	if len(c.Secrets) > 0 {
		t.Templates = append(t.Templates, secretsTemplate(c.Secrets))
	}
	for _, f := range b.files {
		t.Templates = append(t.Templates, pulsarTemplate(f))
	}
	return t, nil
}

// pulsarDir is where the files of the mesh's pulsar block go: the task's
// secrets folder, which only the task reads and Nomad never writes to
// its logs or the job.
const pulsarDir = "${NOMAD_SECRETS_DIR}/pulsar"

// pulsarTemplate writes one secret of the mesh's pulsar block from its
// Nomad Variable into a file of the task's secrets folder, readable by the
// task's user alone; a changed secret restarts the task, which takes up a
// renewed certificate as well as a token.
func pulsarTemplate(f backends.PulsarFile) *api.Template {
	return &api.Template{
		EmbeddedTmpl: ptr(fmt.Sprintf("{{ with nomadVar %s }}{{ (index . %s).Value }}{{ end }}",
			strconv.Quote(f.Secret.Path), strconv.Quote(f.Secret.Key))),
		DestPath:   ptr("secrets/pulsar/" + f.Name),
		Perms:      ptr("0400"),
		ChangeMode: ptr("restart"),
	}
}

func urlPath(u string) string {
	u, _, _ = strings.Cut(u, "?")
	return u
}

func resources(r plan.Resources) *api.Resources {
	cpu, mem := defaultCPU, defaultMemoryMB
	if r.CPU > 0 {
		cpu = int(math.Ceil(r.CPU * 1000)) // Nomad counts CPU in MHz; a core is taken as 1000
	}
	if r.Memory > 0 {
		mem = int((r.Memory + 1<<20 - 1) >> 20)
	}
	return &api.Resources{CPU: ptr(cpu), MemoryMB: ptr(mem)}
}

// instanceTemplate renders an instance's plan into its task folder, with
// the replica index Nomad gives the allocation.
func instanceTemplate(in *instanceWriter, c *plan.Component) (*api.Template, error) {
	data, err := in.plan(c)
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

// secretsTemplate reads each secret from a Nomad Variable into the
// environment variable the runtime looks for, so values never appear in
// the job. The task restarts when a variable changes.
func secretsTemplate(secrets map[string]plan.Secret) *api.Template {
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

func ptr[T any](v T) *T { return &v }
