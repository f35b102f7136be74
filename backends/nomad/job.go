package nomad

import (
	"bytes"
	"cmp"
	"fmt"
	"maps"
	"math"
	"path"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unsafe"

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
//
// What is the same in every group (policies, network, environment, most
// templates and task configs) is one value that the groups share, and
// each group's own parts are allocated together with those of the other
// groups: a job of ten thousand groups was tens of megabytes of small
// objects. So a job's parts are not to be changed in place; set a new
// value instead (g.Count = &n, not *g.Count = n).
func Job(p *plan.Plan, o Options) (*api.Job, error) {
	j, err := newGroupedJob(p, o)
	if err != nil {
		return nil, err
	}
	parts := make([]groupParts, len(p.Components))
	for i := range p.Components {
		g, err := j.b.group(&parts[i], &p.Components[i])
		if err != nil {
			return nil, fmt.Errorf("component %s: %w", p.Components[i].Name, err)
		}
		j.job.TaskGroups[i] = g
	}
	return j.job, nil
}

// groupedJob is a job whose groups are made as they are written, one at
// a time (see Files): a job of ten thousand groups was tens of megabytes.
type groupedJob struct {
	job *api.Job // its TaskGroups are nil but while one is written
	b   *builder
	p   *plan.Plan
}

// newGroupedJob makes the job of p but for its groups, and checks what
// could fail in making them before any is written.
func newGroupedJob(p *plan.Plan, o Options) (*groupedJob, error) {
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
	job.TaskGroups = make([]*api.TaskGroup, len(p.Components))
	b := newBuilder(p, o)
	for i := range p.Components {
		if _, err := b.taskConfig(&p.Components[i]); err != nil {
			return nil, fmt.Errorf("component %s: %w", p.Components[i].Name, err)
		}
	}
	b.plans = make(map[string]string, len(p.Components))
	return &groupedJob{job: job, b: b, p: p}, nil
}

// groupIn makes group i of the job in parts, to be written before the
// next is made in the same parts.
func (j *groupedJob) groupIn(parts *groupParts, i int) (*api.TaskGroup, error) {
	if i == 0 { // the plans are written again
		j.b.in.left = len(j.p.Components)
	}
	c := &j.p.Components[i]
	*parts = groupParts{meta: parts.meta}
	g, err := j.b.group(parts, c)
	if err != nil {
		return nil, fmt.Errorf("component %s: %w", c.Name, err)
	}
	return g, nil
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

// builder builds the groups of a plan's job; what they share is made
// once.
type builder struct {
	p  *plan.Plan
	o  Options
	in *instanceWriter
	// plans, when set, keeps each component's instance plan once made
	// (see plan).
	plans map[string]string

	restart    *api.RestartPolicy
	reschedule *api.ReschedulePolicy
	networks   []*api.NetworkResource
	checks     []api.ServiceCheck
	tags       map[plan.Kind][]string
	enabled    *bool
	killTime   *time.Duration
	env        map[string]string // how instances reach Pulsar
	listen     string
	artifacts  []*api.TaskArtifact
	resources  map[plan.Resources]*api.Resources
	pulsar     []*api.Template // the files of the mesh's pulsar block
	// the instance template's settings
	instanceDest, noop, left, right *string

	// the last task config made and what it was made of: components
	// mostly run the same binary with the same arguments
	config     map[string]any
	configOf   string
	configArgs []string
}

// groupParts are the parts of one group that are its own, allocated with
// those of every other group.
type groupParts struct {
	group    api.TaskGroup
	name     string
	count    int
	scaling  api.ScalingPolicy
	min, max int64
	service  api.Service
	services [1]*api.Service
	task     api.Task
	tasks    [1]*api.Task
	instance api.Template
	plan     string
	meta     map[string]string // kept from one group to the next: every group sets its same keys
}

// memory is where the parts lie, and their map: what a value made in
// them may be found at.
func (parts *groupParts) memory() (start, end uintptr, meta unsafe.Pointer) {
	start = uintptr(unsafe.Pointer(parts))
	if parts.meta != nil {
		meta = reflect.ValueOf(parts.meta).UnsafePointer()
	}
	return start, start + unsafe.Sizeof(*parts), meta
}

func newBuilder(p *plan.Plan, o Options) *builder {
	conn, files := backends.PulsarConnection(p, o.PulsarURL, pulsarDir)
	b := &builder{
		p: p, o: o, in: newInstanceWriter(p),
		restart:    ptr(restartPolicy),
		reschedule: ptr(reschedulePolicy),
		networks:   []*api.NetworkResource{{DynamicPorts: []api.Port{{Label: httpPort}}}},
		checks: []api.ServiceCheck{{
			Name: "healthz", Type: "http", Path: "/healthz",
			Interval: 5 * time.Second, Timeout: 2 * time.Second,
		}},
		tags:         map[plan.Kind][]string{},
		enabled:      ptr(true),
		killTime:     ptr(killTimeout),
		env:          backends.EnvMap(conn),
		listen:       "${NOMAD_ADDR_http}",
		resources:    map[plan.Resources]*api.Resources{},
		instanceDest: ptr("local/instance.json"),
		noop:         ptr("noop"), // the data is fixed; a new plan is a new job version
		left:         ptr(leftDelim),
		right:        ptr(rightDelim),
	}
	if o.Driver == Docker {
		b.listen = "0.0.0.0:${NOMAD_PORT_http}"
	}
	b.env["MESHC_PULSAR_URL"], b.env["MESHC_LISTEN"] = o.PulsarURL, b.listen
	if o.Artifact != "" {
		b.artifacts = []*api.TaskArtifact{{GetterSource: ptr(o.Artifact), RelativeDest: ptr("local/")}}
	}
	for _, f := range files {
		b.pulsar = append(b.pulsar, pulsarTemplate(f))
	}
	return b
}

func (b *builder) group(parts *groupParts, c *plan.Component) (*api.TaskGroup, error) {
	parts.name, parts.count = c.Name, c.Replicas.Count
	g := &parts.group
	g.Name, g.Count = &parts.name, &parts.count
	if parts.meta == nil {
		parts.meta = make(map[string]string, 4)
	}
	parts.meta[MetaComponent], parts.meta[MetaKind], parts.meta[MetaFQFN], parts.meta[MetaHash] = c.Name, string(c.Kind), c.FQFN, c.Hash
	g.Meta = parts.meta
	g.RestartPolicy = b.restart
	g.ReschedulePolicy = b.reschedule
	g.Networks = b.networks
	parts.services[0] = b.service(&parts.service, c)
	g.Services = parts.services[:]
	if r := c.Replicas; r.Max > 0 {
		parts.count = max(r.Count, r.Min)
		parts.min, parts.max = int64(r.Min), int64(r.Max)
		parts.scaling = api.ScalingPolicy{Min: &parts.min, Max: &parts.max, Enabled: b.enabled}
		g.Scaling = &parts.scaling
	}
	if err := b.task(parts, c); err != nil {
		return nil, err
	}
	parts.tasks[0] = &parts.task
	g.Tasks = parts.tasks[:]
	return g, nil
}

// plan is the instance plan of c as a template, made once: a job made as
// it is written makes each group once for each file, and making the plans
// again was most of what that cost. Their text is what is kept of the
// groups between the files (about half of what the whole job held).
func (b *builder) plan(c *plan.Component) (string, error) {
	if b.plans == nil {
		return b.in.plan(c)
	}
	text, ok := b.plans[c.Name]
	if !ok {
		var err error
		if text, err = b.in.plan(c); err != nil {
			return "", err
		}
		b.plans[c.Name] = text
	}
	return text, nil
}

// service registers every instance in Nomad's own service catalogue, with
// the runtime's /healthz as its check, which deployments wait on.
func (b *builder) service(s *api.Service, c *plan.Component) *api.Service {
	tags, ok := b.tags[c.Kind]
	if !ok {
		tags = []string{"meshc", string(c.Kind)}
		b.tags[c.Kind] = tags
	}
	*s = api.Service{
		Name:      ServiceName(b.p.Mesh.Name, c.Name),
		Provider:  "nomad",
		PortLabel: httpPort,
		Tags:      tags,
		Checks:    b.checks,
	}
	return s
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

func (b *builder) task(parts *groupParts, c *plan.Component) error {
	t := &parts.task
	t.Name, t.Driver = c.Name, b.o.Driver
	config, err := b.taskConfig(c)
	if err != nil {
		return err
	}
	t.Config = config
	t.Artifacts = b.artifacts
	t.Env = b.env
	t.Resources = b.taskResources(c.Resources)
	t.KillTimeout = b.killTime
	if parts.plan, err = b.plan(c); err != nil {
		return err
	}
	parts.instance = api.Template{
		EmbeddedTmpl: &parts.plan, DestPath: b.instanceDest, ChangeMode: b.noop, LeftDelim: b.left, RightDelim: b.right,
	}
	t.Templates = make([]*api.Template, 0, 2+len(b.pulsar))
	t.Templates = append(t.Templates, &parts.instance)
	if len(c.Secrets) > 0 {
		t.Templates = append(t.Templates, secretsTemplate(c.Secrets))
	}
	t.Templates = append(t.Templates, b.pulsar...)
	return nil
}

// taskConfig is the driver's config of c's task: the last one made when
// c runs the same binary with the same arguments.
func (b *builder) taskConfig(c *plan.Component) (map[string]any, error) {
	o := b.o
	var of string // the image or binary
	switch {
	case o.Driver == Docker:
		if of = cmp.Or(o.Image, c.Runtime.Image); of == "" {
			return nil, fmt.Errorf("the docker driver needs an image: set one with the image option or in the plan's runtime")
		}
		of += "\x00" + cmp.Or(o.Binary, c.Runtime.Binary, "meshrt")
	case o.Artifact != "":
	default:
		if of = cmp.Or(o.Binary, c.Runtime.Binary); of == "" {
			return nil, fmt.Errorf("no instance binary: set one with the binary option or in the plan's runtime")
		}
	}
	if b.config != nil && of == b.configOf && slices.Equal(c.Runtime.Args, b.configArgs) {
		return b.config, nil
	}
	args := append([]string{"-plan", "${NOMAD_TASK_DIR}/instance.json"}, c.Runtime.Args...)
	var config map[string]any
	switch {
	case o.Driver == Docker:
		// The entrypoint is set, so the image's own does not come first.
		config = map[string]any{
			"image": cmp.Or(o.Image, c.Runtime.Image), "entrypoint": []string{cmp.Or(o.Binary, c.Runtime.Binary, "meshrt")},
			"args": args, "ports": []string{httpPort},
		}
	case o.Artifact != "":
		config = map[string]any{"command": "local/" + path.Base(urlPath(o.Artifact)), "args": args}
	default:
		config = map[string]any{"command": of, "args": args}
	}
	b.config, b.configOf, b.configArgs = config, of, c.Runtime.Args
	return config, nil
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

// taskResources are a task's resources: one value for tasks that ask for
// the same.
func (b *builder) taskResources(r plan.Resources) *api.Resources {
	if res, ok := b.resources[r]; ok {
		return res
	}
	cpu, mem := defaultCPU, defaultMemoryMB
	if r.CPU > 0 {
		cpu = int(math.Ceil(r.CPU * 1000)) // Nomad counts CPU in MHz; a core is taken as 1000
	}
	if r.Memory > 0 {
		mem = int((r.Memory + 1<<20 - 1) >> 20)
	}
	res := &api.Resources{CPU: ptr(cpu), MemoryMB: ptr(mem)}
	b.resources[r] = res
	return res
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
