package nomad

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/hashicorp/nomad/api"
)

// GroupStatus counts a component's instances.
type GroupStatus struct {
	Name, Kind                        string
	Desired, Running, Healthy, Failed int
	Stopped                           bool // stopped by meshc stop
}

// Groups counts the instances of each component of a mesh's job, in the
// job's order. Only allocations of the job's current version that Nomad
// wants running count, but failures of any version do.
func (cl *Cluster) Groups(ctx context.Context, mesh string) (*api.Job, []GroupStatus, error) {
	job, err := cl.job(ctx, mesh)
	if err != nil {
		return nil, nil, err
	}
	allocs, _, err := cl.api.Jobs().Allocations(mesh, false, query(ctx))
	if err != nil {
		return nil, nil, cl.wrap(err, "listing the allocations of "+mesh)
	}
	var out []GroupStatus
	for _, g := range job.TaskGroups {
		s := GroupStatus{Name: *g.Name, Kind: g.Meta[MetaKind], Desired: deref(g.Count), Stopped: g.Meta[MetaStoppedCount] != ""}
		if deref(job.Stop) {
			s.Desired = 0
		}
		for _, a := range allocs {
			if a.TaskGroup != s.Name {
				continue
			}
			if a.ClientStatus == api.AllocClientStatusFailed && a.DesiredStatus == api.AllocDesiredStatusRun {
				s.Failed++
			}
			if a.ClientStatus != api.AllocClientStatusRunning || a.DesiredStatus != api.AllocDesiredStatusRun {
				continue
			}
			s.Running++
			if a.DeploymentStatus == nil || a.DeploymentStatus.Healthy == nil || *a.DeploymentStatus.Healthy {
				s.Healthy += healthy(a)
			}
		}
		out = append(out, s)
	}
	return job, out, nil
}

// healthy is 1 when every task of a running allocation runs.
func healthy(a *api.AllocationListStub) int {
	for _, t := range a.TaskStates {
		if t.State != "running" {
			return 0
		}
	}
	return 1
}

func (cl *Cluster) writeGroups(ctx context.Context, w io.Writer, mesh string) error {
	_, groups, err := cl.Groups(ctx, mesh)
	if err != nil {
		return err
	}
	writeTable(w, groups)
	return nil
}

func writeTable(w io.Writer, groups []GroupStatus) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "COMPONENT\tKIND\tDESIRED\tRUNNING\tHEALTHY\tFAILED")
	for _, g := range groups {
		name := g.Name
		if g.Stopped {
			name += " (stopped)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%d\n", name, g.Kind, g.Desired, g.Running, g.Healthy, g.Failed)
	}
	tw.Flush()
}

// Status prints a mesh's job, its latest deployment and each component's
// instances; with a function, that component's instances one by one.
func (cl *Cluster) Status(ctx context.Context, w io.Writer, mesh, function string) error {
	job, groups, err := cl.Groups(ctx, mesh)
	if err != nil {
		return err
	}
	state := deref(job.Status)
	if deref(job.Stop) {
		state = "stopped"
	}
	fmt.Fprintf(w, "mesh %s on Nomad at %s: job version %d, %s\n", mesh, cl.addr, deref(job.Version), state)
	if d, _, err := cl.api.Jobs().LatestDeployment(mesh, query(ctx)); err == nil && d != nil {
		fmt.Fprintf(w, "deployment %s (version %d): %s, %s\n", shortID(d.ID), d.JobVersion, d.Status, d.StatusDescription)
	}
	if function == "" {
		writeTable(w, groups)
		return nil
	}
	if _, err := groupNamed(job, function); err != nil {
		return err
	}
	for _, g := range groups {
		if g.Name == function {
			writeTable(w, []GroupStatus{g})
		}
	}
	allocs, _, err := cl.api.Jobs().Allocations(mesh, false, query(ctx))
	if err != nil {
		return cl.wrap(err, "listing the allocations of "+mesh)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "INSTANCE\tALLOCATION\tNODE\tVERSION\tSTATUS\tHEALTH\tRESTARTS")
	for _, a := range sortedAllocs(allocs) {
		if a.TaskGroup != function {
			continue
		}
		health := "-"
		if a.DeploymentStatus != nil && a.DeploymentStatus.Healthy != nil {
			health = map[bool]string{true: "healthy", false: "unhealthy"}[*a.DeploymentStatus.Healthy]
		}
		var restarts uint64
		for _, t := range a.TaskStates {
			restarts += t.Restarts
		}
		status := a.ClientStatus
		if a.DesiredStatus != api.AllocDesiredStatusRun {
			status += " (" + a.DesiredStatus + ")"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\t%d\n", instanceIndex(a.Name), shortID(a.ID), a.NodeName, a.JobVersion, status, health, restarts)
	}
	return tw.Flush()
}

// instanceIndex is the replica index in an allocation's name,
// "job.group[index]".
func instanceIndex(name string) string {
	i := strings.LastIndexByte(name, '[')
	if i < 0 {
		return name
	}
	return strings.TrimSuffix(name[i+1:], "]")
}
