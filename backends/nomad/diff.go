package nomad

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	"github.com/hashicorp/nomad/api"
)

// WritePlan prints Nomad's own plan of a job the way `nomad job plan` reads:
// what changes, marked + added, - deleted, +/- edited, with the scheduler's
// count of what each group's instances go through, then the placements
// that would fail. Whole jobs, groups and tasks that are added or deleted
// show by name only, as their every field would.
func WritePlan(w io.Writer, plan *api.JobPlanResponse) {
	if d := plan.Diff; d != nil {
		fmt.Fprintf(w, "%sJob: %q\n", mark(d.Type), d.ID)
		if d.Type == "Edited" {
			writeFields(w, 1, d.Fields)
			writeObjects(w, 1, d.Objects)
		}
		for _, g := range d.TaskGroups {
			writeGroup(w, g)
		}
		if d.Type == "None" {
			fmt.Fprintln(w, "  no changes")
		}
	}
	if plan.Warnings != "" {
		fmt.Fprintf(w, "Nomad warns: %s\n", strings.TrimSpace(plan.Warnings))
	}
	for _, name := range slices.Sorted(maps.Keys(plan.FailedTGAllocs)) {
		fmt.Fprintf(w, "cannot place %s: %s\n", name, placementFailure(plan.FailedTGAllocs[name]))
	}
}

func writeGroup(w io.Writer, g *api.TaskGroupDiff) {
	var counts []string
	for _, k := range slices.Sorted(maps.Keys(g.Updates)) {
		if n := g.Updates[k]; n > 0 {
			counts = append(counts, fmt.Sprintf("%d %s", n, k))
		}
	}
	fmt.Fprintf(w, "%sTask Group: %q", mark(g.Type), g.Name)
	if len(counts) > 0 {
		fmt.Fprintf(w, " (%s)", strings.Join(counts, ", "))
	}
	fmt.Fprintln(w)
	if g.Type != "Edited" {
		return
	}
	writeFields(w, 1, g.Fields)
	writeObjects(w, 1, g.Objects)
	for _, t := range g.Tasks {
		if t.Type == "None" {
			continue
		}
		fmt.Fprintf(w, "  %sTask: %q%s\n", mark(t.Type), t.Name, annotations(t.Annotations))
		if t.Type == "Edited" {
			writeFields(w, 2, t.Fields)
			writeObjects(w, 2, t.Objects)
		}
	}
}

func writeFields(w io.Writer, depth int, fields []*api.FieldDiff) {
	pad := strings.Repeat("  ", depth)
	for _, f := range fields {
		switch f.Type {
		case "Added":
			fmt.Fprintf(w, "%s+ %s: %q%s\n", pad, f.Name, f.New, annotations(f.Annotations))
		case "Deleted":
			fmt.Fprintf(w, "%s- %s: %q%s\n", pad, f.Name, f.Old, annotations(f.Annotations))
		case "Edited":
			fmt.Fprintf(w, "%s+/- %s: %q => %q%s\n", pad, f.Name, f.Old, f.New, annotations(f.Annotations))
		}
	}
}

func writeObjects(w io.Writer, depth int, objects []*api.ObjectDiff) {
	for _, o := range objects {
		if o.Type == "None" {
			continue
		}
		fmt.Fprintf(w, "%s%s%s {\n", strings.Repeat("  ", depth), mark(o.Type), o.Name)
		writeFields(w, depth+1, o.Fields)
		writeObjects(w, depth+1, o.Objects)
		fmt.Fprintf(w, "%s}\n", strings.Repeat("  ", depth))
	}
}

func mark(typ string) string {
	switch typ {
	case "Added":
		return "+ "
	case "Deleted":
		return "- "
	case "Edited":
		return "+/- "
	}
	return ""
}

func annotations(a []string) string {
	if len(a) == 0 {
		return ""
	}
	return " (" + strings.Join(a, ", ") + ")"
}

// placementFailure says in one line why the scheduler placed nothing: how
// many nodes it looked at and what ruled them out.
func placementFailure(m *api.AllocationMetric) string {
	if m == nil {
		return "no reason given"
	}
	parts := []string{fmt.Sprintf("%d of %d nodes evaluated", m.NodesEvaluated, m.NodesInPool)}
	if m.NodesEvaluated == 0 {
		parts = []string{"no nodes are eligible (is a client running in the job's datacenters and node pool?)"}
	}
	for _, group := range []struct {
		what string
		m    map[string]int
	}{{"filtered by", m.ConstraintFiltered}, {"filtered by class", m.ClassFiltered},
		{"exhausted", m.DimensionExhausted}, {"exhausted in class", m.ClassExhausted}} {
		for _, k := range slices.Sorted(maps.Keys(group.m)) {
			parts = append(parts, fmt.Sprintf("%d %s %s", group.m[k], group.what, k))
		}
	}
	if len(m.QuotaExhausted) > 0 {
		parts = append(parts, "quota exhausted: "+strings.Join(m.QuotaExhausted, ", "))
	}
	if m.CoalescedFailures > 0 {
		parts = append(parts, fmt.Sprintf("%d more instances failed alike", m.CoalescedFailures))
	}
	return strings.Join(parts, "; ")
}
