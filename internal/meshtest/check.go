package meshtest

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/google/go-cmp/cmp"

	"github.com/meshc/meshc/planner/plan"
	"github.com/meshc/meshc/runtime/codec"
)

func codecFor(s plan.Schema) (*codec.Codec, error) {
	if s.Type == "json" {
		// Records are matched on the fields a case names, so what comes
		// back is read as JSON without checking it against the record.
		s.Definition = ""
	}
	return codec.New(s)
}

// check compares what the run left with the case's expectations.
func (r *caseRun) check(ctx context.Context) error {
	expected := map[string]bool{}
	for _, e := range r.c.Expects {
		expected[e.Topic.FQN] = true
		got, err := r.readAll(ctx, e.Topic)
		if err != nil {
			return err
		}
		r.compare(e, got)
	}
	if r.c.NothingElse {
		for _, t := range r.written() {
			if expected[t.FQN] {
				continue
			}
			got, err := r.readAll(ctx, t)
			if err != nil {
				return err
			}
			if len(got) > 0 {
				lines := make([]string, len(got))
				for i, g := range got {
					lines[i] = render(g.Value, &g.Key, g.Properties, nil)
				}
				r.fail(r.c.Pos, cmp.Diff([]string{}, lines), "topic %s: want nothing written (nothing_else = true), got %d messages (-want +got):", t.Name, len(got))
			}
		}
	}
	for _, w := range r.c.StateWants {
		want := "counter " + fmt.Sprint(ptrValue(w.Counter))
		if w.Value != nil {
			want = fmt.Sprintf("value %q", *w.Value)
		}
		got, err := r.queryState(ctx, w.Function, w.Key)
		if err != nil {
			return err
		}
		if got != want {
			r.fail(w.Start(), cmp.Diff(want, got), "state of %s, key %q (-want +got):", w.Function, w.Key)
		}
	}
	return nil
}

func ptrValue[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

// written lists the topics the functions write and no function reads,
// each once: outputs, the topics they publish to, and dead letters, theirs
// or the runtime's own. Topics between functions are the mesh's own
// business: what reaches the end is what a case expects.
func (r *caseRun) written() []plan.Topic {
	byFQN := map[string]plan.Topic{}
	for _, t := range r.plan.Topics {
		byFQN[t.FQN] = t
	}
	read := map[string]bool{}
	for _, c := range r.plan.Components {
		for _, in := range c.Inputs {
			read[in.Topic] = true
		}
	}
	seen := map[string]plan.Topic{}
	for i := range r.plan.Components {
		c := &r.plan.Components[i]
		var fqns []string
		if c.Output != nil {
			fqns = append(fqns, c.Output.Topic)
		}
		for _, o := range c.Publishes {
			fqns = append(fqns, o.Topic)
		}
		if c.DeadLetterTopic != "" {
			fqns = append(fqns, c.DeadLetterTopic)
		}
		for _, f := range fqns {
			if t, ok := byFQN[f]; ok && !read[f] {
				seen[f] = t
			}
		}
		if c.DeadLetterTopic == "" {
			for _, in := range c.Inputs {
				if !in.Pattern {
					t := deadLetterDefault(c, in)
					seen[t.FQN] = t
				}
			}
		}
	}
	return slices.SortedFunc(maps.Values(seen), func(a, b plan.Topic) int { return strings.Compare(a.Name, b.Name) })
}
