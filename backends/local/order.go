package local

import (
	"slices"

	"github.com/meshc/meshc/planner/plan"
)

// Order returns the components' names in topological order: every
// component after those that write its inputs, sources first. Ties keep
// the plan's order; components on a cycle (feedback topics) come last,
// in the plan's order.
func Order(p *plan.Plan) []string {
	writers := map[string][]int{} // topic FQN -> components writing it
	for i, c := range p.Components {
		for _, t := range written(&c) {
			writers[t] = append(writers[t], i)
		}
	}
	deps := make([]map[int]bool, len(p.Components))
	for i, c := range p.Components {
		deps[i] = map[int]bool{}
		for _, in := range c.Inputs {
			for _, w := range writers[in.Topic] {
				if w != i {
					deps[i][w] = true
				}
			}
		}
	}
	var order []string
	done := make([]bool, len(p.Components))
	for progress := true; progress; {
		progress = false
		for i, c := range p.Components {
			if done[i] || !allDone(deps[i], done) {
				continue
			}
			done[i], progress = true, true
			order = append(order, c.Name)
		}
	}
	for i, c := range p.Components {
		if !done[i] {
			order = append(order, c.Name)
		}
	}
	return order
}

// written lists the topics a component writes to.
func written(c *plan.Component) []string {
	var ts []string
	if c.Output != nil {
		ts = append(ts, c.Output.Topic)
	}
	for _, o := range c.Publishes {
		ts = append(ts, o.Topic)
	}
	for _, t := range []string{c.DeadLetterTopic, c.LogTopic} {
		if t != "" {
			ts = append(ts, t)
		}
	}
	return slices.Compact(ts)
}

func allDone(deps map[int]bool, done []bool) bool {
	for d := range deps {
		if !done[d] {
			return false
		}
	}
	return true
}
