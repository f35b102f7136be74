package local

import (
	"context"
	"fmt"
	"slices"

	"github.com/meshc/meshc/planner/plan"
)

// Changes say what Update did, by component name, in the mesh's order.
type Changes struct {
	Started   []string `json:"started,omitempty"`   // added to the mesh
	Stopped   []string `json:"stopped,omitempty"`   // removed from it
	Restarted []string `json:"restarted,omitempty"` // their plan changed
	Rescaled  []string `json:"rescaled,omitempty"`  // their instance count alone changed
}

// Update makes the running mesh run p, as `pulsar-admin functions update`
// does for one function: a component added starts, one removed stops
// (settling what it has in flight), one whose plan hash changed restarts
// with its new plan, and one whose instance count alone changed gains or
// loses instances while the others go on. The rest is untouched.
// Subscriptions are made first, and sources start last, as in Start.
func (m *Mesh) Update(ctx context.Context, p *plan.Plan) (Changes, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if p.Mesh.Name != m.plan.Mesh.Name {
		return Changes{}, fmt.Errorf("this run is mesh %s, the plan is of mesh %s: run it with meshc run", m.plan.Mesh.Name, p.Mesh.Name)
	}
	next := map[string]*component{}
	for ci := range p.Components {
		comp, err := m.newComponent(p, &p.Components[ci])
		if err != nil {
			return Changes{}, err
		}
		next[comp.plan.Name] = comp
	}
	if err := subscribe(ctx, p, m.opts); err != nil {
		return Changes{}, err
	}
	var ch Changes
	var start []*instance
	for _, name := range m.order { // stops go downstream from the sources
		if _, kept := next[name]; !kept {
			m.comps[name].halt()
			ch.Stopped = append(ch.Stopped, name)
		}
	}
	order := Order(p)
	for _, name := range order {
		c, old := next[name], m.comps[name]
		switch {
		case old == nil:
			ch.Started = append(ch.Started, name)
			start = append(start, c.instances...)
		case old.plan.Hash != c.plan.Hash || old.plan.Hash == "":
			wasRunning := old.running() // one stopped by hand stays stopped
			old.halt()
			ch.Restarted = append(ch.Restarted, name)
			if wasRunning {
				start = append(start, c.instances...)
			}
		case len(old.instances) != len(c.instances):
			c.instances, start = rescale(old, c, start)
			ch.Rescaled = append(ch.Rescaled, name)
		default:
			c.instances = old.instances // the same plan: they go on
		}
	}
	m.plan, m.order, m.comps = p, order, next
	slices.Reverse(start) // sinks first, sources last
	for _, i := range start {
		i.start()
	}
	return ch, nil
}

// rescale keeps the instances of old that c still has, stops the others,
// and adds c's new ones to start.
func rescale(old, c *component, start []*instance) ([]*instance, []*instance) {
	n := len(c.instances)
	for _, i := range old.instances[min(n, len(old.instances)):] {
		i.halt()
	}
	kept := old.instances[:min(n, len(old.instances))]
	added := c.instances[len(kept):]
	if old.running() {
		start = append(start, added...)
	}
	return append(slices.Clone(kept), added...), start
}
