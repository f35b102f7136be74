package local

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/meshc/meshc/planner/plan"
	"github.com/meshc/meshc/runtime"
)

// Options say how a mesh runs on this machine.
type Options struct {
	// PulsarURL is the service URL instances connect to; Connection says
	// how, for a secured Pulsar (its URL is PulsarURL's).
	PulsarURL  string
	Connection runtime.Connection
	// AdminURL is Pulsar's HTTP admin endpoint, used to tell when a
	// component's inputs are drained; empty means Stop does not wait.
	AdminURL string
	// Command returns the program and arguments that run the instances of
	// a component; they read their plan from $MESHC_INSTANCE_PLAN. The
	// default is Resolve(c.Runtime, nil).
	Command func(c *plan.Component) ([]string, error)
	// LogDir keeps each instance's standard error, as COMPONENT-INDEX.log.
	LogDir string
	// Stdout receives the instances' standard output, whole lines.
	Stdout io.Writer
	// Dir is the instances' working directory; empty means this one.
	Dir string
	// Env is added to the instances' environment.
	Env []string
	// Grace is how long a stopping instance may take to settle what it
	// has in flight before it is killed; default 15s.
	Grace time.Duration
	// MinBackoff and MaxBackoff bound the wait before a crashed instance
	// restarts; it doubles after each crash. Defaults 200ms and 10s.
	MinBackoff, MaxBackoff time.Duration
	Logger                 *slog.Logger
}

// Mesh is a plan running as local processes.
type Mesh struct {
	plan  *plan.Plan
	opts  Options
	order []string // topological
	comps map[string]*component
	out   *lines
	admin *http.Client // Pulsar's admin API, as the connection says to reach it
	mu    sync.Mutex   // serialises Start, Stop and Restart
}

type component struct {
	plan      *plan.Component
	command   []string
	instances []*instance
}

// New prepares a mesh; nothing runs until Start.
func New(p *plan.Plan, opts Options) (*Mesh, error) {
	if err := opts.defaults(); err != nil {
		return nil, err
	}
	admin, err := opts.connection().AdminClient(adminTimeout)
	if err != nil {
		return nil, err
	}
	m := &Mesh{plan: p, opts: opts, order: Order(p), comps: map[string]*component{}, out: &lines{w: opts.Stdout}, admin: admin}
	for ci := range p.Components {
		comp, err := m.newComponent(p, &p.Components[ci])
		if err != nil {
			return nil, err
		}
		m.comps[comp.plan.Name] = comp
	}
	return m, nil
}

// newComponent prepares the instances of one component of p; none runs.
func (m *Mesh) newComponent(p *plan.Plan, c *plan.Component) (*component, error) {
	cmd, err := m.opts.Command(c)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", c.Kind, c.Name, err)
	}
	comp := &component{plan: c, command: cmd}
	for idx := range replicas(c) {
		i, err := m.newInstance(p, c, cmd, idx)
		if err != nil {
			return nil, err
		}
		comp.instances = append(comp.instances, i)
	}
	return comp, nil
}

func (m *Mesh) newInstance(p *plan.Plan, c *plan.Component, cmd []string, idx int) (*instance, error) {
	data, err := json.Marshal(p.Instance(c, idx))
	if err != nil {
		return nil, err
	}
	return &instance{mesh: m, comp: c, index: idx, plan: data, cmd: cmd, log: logPath(m.opts.LogDir, c.Name, idx), state: Stopped}, nil
}

// adminTimeout bounds one call of Pulsar's admin API.
const adminTimeout = 2 * time.Second

// connection is how the run reaches Pulsar.
func (o *Options) connection() runtime.Connection {
	c := o.Connection
	c.URL = o.PulsarURL
	return c
}

func (o *Options) defaults() error {
	if o.Command == nil {
		o.Command = func(c *plan.Component) ([]string, error) { return Resolve(c.Runtime, nil) }
	}
	if o.LogDir == "" {
		return fmt.Errorf("local: Options.LogDir is required")
	}
	if err := os.MkdirAll(o.LogDir, 0o755); err != nil {
		return fmt.Errorf("making the log folder: %w", err)
	}
	if o.Stdout == nil {
		o.Stdout = io.Discard
	}
	if o.Grace <= 0 {
		o.Grace = 15 * time.Second
	}
	if o.MinBackoff <= 0 {
		o.MinBackoff = 200 * time.Millisecond
	}
	if o.MaxBackoff < o.MinBackoff {
		o.MaxBackoff = max(10*time.Second, o.MinBackoff)
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return nil
}

// replicas is how many instances a component runs locally: its count, or
// its autoscaling minimum (at least one), as there is no autoscaler here.
func replicas(c *plan.Component) int {
	if c.Replicas.Count == 0 && c.Replicas.Max > 0 {
		return max(c.Replicas.Min, 1)
	}
	return c.Replicas.Count
}

// Plan returns the plan the mesh runs.
func (m *Mesh) Plan() *plan.Plan { return m.plan }

// Order returns the component names, sources first, each component after
// the ones that write its inputs.
func (m *Mesh) Order() []string { return slices.Clone(m.order) }

// lookup finds the components a command names: one, or all for "".
func (m *Mesh) lookup(name string) ([]*component, error) {
	if name == "" {
		var all []*component
		for _, n := range m.order {
			all = append(all, m.comps[n])
		}
		return all, nil
	}
	c, ok := m.comps[name]
	if !ok {
		return nil, fmt.Errorf("mesh %s has no function, source or sink %q; it has %s", m.plan.Mesh.Name, name, strings.Join(m.order, ", "))
	}
	return []*component{c}, nil
}

// Start starts a component's instances, or the whole mesh's for "". The
// whole mesh starts consumers first: its subscriptions are made before
// any instance runs and its sources start last, so nothing they write is
// missed by a subscription starting at the latest message.
func (m *Mesh) Start(ctx context.Context, name string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	comps, err := m.lookup(name)
	if err != nil {
		return err
	}
	if name == "" {
		if err := subscribe(ctx, m.plan, m.opts); err != nil {
			return err
		}
		slices.Reverse(comps)
	}
	for _, c := range comps {
		for _, i := range c.instances {
			i.start()
		}
	}
	return nil
}

// Stop stops a component's instances, or the whole mesh's for "" in
// topological order: sources first, then each component after those that
// write its inputs. Each instance settles what it has in flight before it
// exits; what is left in its input topics stays there.
func (m *Mesh) Stop(name string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	comps, err := m.lookup(name)
	if err != nil {
		return err
	}
	for _, c := range comps {
		c.halt()
	}
	return nil
}

// Shutdown stops the whole mesh in topological order, as Stop does, but
// first waits, for as long as ctx allows, until each component has read
// everything in its inputs: upstream is stopped by then, so nothing
// written is left unread.
func (m *Mesh) Shutdown(ctx context.Context) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, name := range m.order {
		c := m.comps[name]
		if ctx.Err() == nil && c.running() {
			m.waitDrained(ctx, c.plan)
		}
		c.halt()
	}
}

func (c *component) halt() {
	var wg sync.WaitGroup
	for _, i := range c.instances {
		wg.Go(i.halt)
	}
	wg.Wait()
}

func (c *component) running() bool {
	for _, i := range c.instances {
		if s := i.status().State; s != Stopped && s != Done {
			return true
		}
	}
	return false
}

// Restart stops and starts a component, or every component for "".
func (m *Mesh) Restart(ctx context.Context, name string) error {
	if err := m.Stop(name); err != nil {
		return err
	}
	return m.Start(ctx, name)
}

// SourcesDone tells whether the mesh has sources and all have produced
// everything.
func (m *Mesh) SourcesDone() bool {
	seen := false
	for _, c := range m.comps {
		if c.plan.Kind != plan.Source {
			continue
		}
		for _, i := range c.instances {
			seen = true
			if i.status().State != Done {
				return false
			}
		}
	}
	return seen
}
