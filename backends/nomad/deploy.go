package nomad

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/hashicorp/nomad/api"
)

// DeployOptions say how far Deploy goes.
type DeployOptions struct {
	// DryRun shows Nomad's plan and registers nothing.
	DryRun bool
	// Timeout bounds the wait for healthy instances; 0 means the update
	// block's progress deadline and a little more.
	Timeout time.Duration
}

// Deploy shows Nomad's plan for job, registers it, and waits until its
// deployment is healthy. When it is not, the error says why: placements
// that failed and the events of instances that failed or are unhealthy.
// A job of the same name that meshc did not make is left alone.
func (cl *Cluster) Deploy(ctx context.Context, w io.Writer, job *api.Job, o DeployOptions) error {
	id := *job.ID
	old, _, err := cl.api.Jobs().Info(id, query(ctx))
	switch {
	case isStatus(err, http.StatusNotFound):
		old = nil
	case err != nil:
		return cl.wrap(err, "reading job "+id)
	default:
		if err := owned(old, id); err != nil {
			return err
		}
		keepScaledCounts(job, old)
	}
	plan, _, err := cl.api.Jobs().Plan(job, true, write(ctx))
	if err != nil {
		return cl.wrap(err, "planning job "+id)
	}
	fmt.Fprintf(w, "Nomad's plan for job %s at %s:\n", id, cl.addr)
	WritePlan(w, plan)
	if o.DryRun {
		return nil
	}
	resp, _, err := cl.api.Jobs().RegisterOpts(job, &api.RegisterOptions{EnforceIndex: true, ModifyIndex: plan.JobModifyIndex}, write(ctx))
	if err != nil {
		return cl.wrap(err, "registering job "+id+" (if it changed since the plan, run deploy again)")
	}
	fmt.Fprintf(w, "registered job %s (evaluation %s)\n", id, shortID(resp.EvalID))
	timeout := cmp.Or(o.Timeout, *updateStrategy.ProgressDeadline+30*time.Second)
	wctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	version, err := cl.await(wctx, w, id, resp.EvalID)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
			err = fmt.Errorf("not healthy after %s", timeout)
		}
		return cl.failure(ctx, id, version, err)
	}
	fmt.Fprintf(w, "deployed mesh %s: job version %d\n", id, version)
	return cl.writeGroups(ctx, w, id)
}

// keepScaledCounts keeps the counts an autoscaler chose, within the new
// bounds: a deploy resets only the counts of groups without a scaling block.
func keepScaledCounts(job, old *api.Job) {
	for _, g := range job.TaskGroups {
		og, err := groupNamed(old, *g.Name)
		if err != nil || g.Scaling == nil || og.Scaling == nil || og.Count == nil || *og.Count == 0 {
			continue
		}
		n := min(max(int64(*og.Count), *g.Scaling.Min), *g.Scaling.Max)
		g.Count = ptr(int(n))
	}
}

// await follows an evaluation and the deployment it starts until the
// deployment ends, printing each group's progress. It returns the job
// version deployed.
func (cl *Cluster) await(ctx context.Context, w io.Writer, id, evalID string) (uint64, error) {
	eval, err := cl.awaitEval(ctx, evalID)
	if err != nil {
		return 0, err
	}
	job, _, err := cl.api.Jobs().Info(id, query(ctx))
	if err != nil {
		return 0, cl.wrap(err, "reading job "+id)
	}
	version := *job.Version
	if len(eval.FailedTGAllocs) > 0 {
		var b strings.Builder
		for _, g := range slices.Sorted(maps.Keys(eval.FailedTGAllocs)) {
			fmt.Fprintf(&b, "\n  cannot place %s: %s", g, placementFailure(eval.FailedTGAllocs[g]))
		}
		return version, fmt.Errorf("cannot place every instance (Nomad keeps trying as capacity frees up):%s", b.String())
	}
	if eval.DeploymentID == "" {
		return version, nil // nothing to roll out: no change, or no instances
	}
	seen := map[string]string{}
	for {
		d, _, err := cl.api.Deployments().Info(eval.DeploymentID, query(ctx))
		if err != nil {
			return version, cl.wrap(err, "reading deployment "+shortID(eval.DeploymentID))
		}
		for _, g := range slices.Sorted(maps.Keys(d.TaskGroups)) {
			s := d.TaskGroups[g]
			line := fmt.Sprintf("%s: %d of %d healthy", g, s.HealthyAllocs, s.DesiredTotal)
			if s.UnhealthyAllocs > 0 {
				line += fmt.Sprintf(", %d unhealthy", s.UnhealthyAllocs)
			}
			if seen[g] != line {
				seen[g] = line
				fmt.Fprintf(w, "  %s\n", line)
			}
		}
		if g := firstUnhealthy(d); g != "" {
			return version, fmt.Errorf("%s has unhealthy instances (Nomad may yet replace them until the deployment's progress deadline; meshc status --backend nomad shows how it goes)", g)
		}
		switch d.Status {
		case "successful":
			return version, nil
		case "failed", "cancelled":
			return version, fmt.Errorf("deployment %s %s: %s", shortID(d.ID), d.Status, d.StatusDescription)
		}
		if err := cl.sleep(ctx); err != nil {
			return version, err
		}
	}
}

// firstUnhealthy names the first group with an unhealthy instance: one
// that failed its restarts or its checks, which rarely heals by itself, so
// deploy reports it rather than wait for the progress deadline.
func firstUnhealthy(d *api.Deployment) string {
	for _, g := range slices.Sorted(maps.Keys(d.TaskGroups)) {
		if d.TaskGroups[g].UnhealthyAllocs > 0 {
			return g
		}
	}
	return ""
}

func (cl *Cluster) awaitEval(ctx context.Context, id string) (*api.Evaluation, error) {
	for {
		eval, _, err := cl.api.Evaluations().Info(id, query(ctx))
		if err != nil {
			return nil, cl.wrap(err, "reading evaluation "+shortID(id))
		}
		switch eval.Status {
		case "complete", "blocked":
			return eval, nil
		case "failed", "canceled":
			return nil, fmt.Errorf("evaluation %s %s: %s", shortID(id), eval.Status, eval.StatusDescription)
		}
		if err := cl.sleep(ctx); err != nil {
			return nil, err
		}
	}
}

// failure adds to err what went wrong with the instances of version.
func (cl *Cluster) failure(ctx context.Context, id string, version uint64, err error) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	allocs, _, lerr := cl.api.Jobs().Allocations(id, false, query(ctx))
	if lerr != nil {
		return fmt.Errorf("%w (and reading its allocations failed: %v)", err, lerr)
	}
	var b strings.Builder
	for _, a := range sortedAllocs(allocs) {
		if a.JobVersion == version {
			b.WriteString(allocProblem(a))
		}
	}
	return fmt.Errorf("mesh %s on Nomad at %s: %w%s", id, cl.addr, err, b.String())
}

// allocProblem describes an instance that failed, restarted or is not
// healthy, with its task's last notable events; "" for a healthy one.
func allocProblem(a *api.AllocationListStub) string {
	unhealthy := a.DeploymentStatus != nil && a.DeploymentStatus.Healthy != nil && !*a.DeploymentStatus.Healthy
	var events []string
	restarts, ended := uint64(0), false
	for _, t := range slices.Sorted(maps.Keys(a.TaskStates)) {
		s := a.TaskStates[t]
		restarts += s.Restarts
		for _, e := range s.Events {
			if notable(e) {
				events = append(events, fmt.Sprintf("%s: %s", e.Type, cmp.Or(e.DisplayMessage, e.Message)))
			}
			ended = ended || (e.Type == api.TaskTerminated && e.ExitCode == 0)
		}
	}
	if a.ClientStatus != "failed" && !unhealthy && restarts == 0 && a.ClientStatus != "pending" {
		return ""
	}
	state := a.ClientStatus
	if unhealthy {
		state += ", unhealthy"
	}
	if restarts > 0 {
		state += fmt.Sprintf(", %d restarts", restarts)
	}
	s := fmt.Sprintf("\n  instance %s (allocation %s on %s): %s", a.Name, shortID(a.ID), a.NodeName, state)
	for _, e := range events[max(0, len(events)-4):] {
		s += "\n    " + e
	}
	if ended {
		s += "\n    hint: the instance ended by itself (exit code 0), and Nomad restarts services that end: a binary whose sources exit when done is restarted, so its sources run again: let a finished source idle, as meshrt does"
	}
	return s
}

// notable events explain a failure; the routine ones do not.
func notable(e *api.TaskEvent) bool {
	switch e.Type {
	case api.TaskReceived, api.TaskSetup, api.TaskStarted, api.TaskDriverMessage, "Downloading Artifacts":
		return false
	}
	return true
}

func sortedAllocs(allocs []*api.AllocationListStub) []*api.AllocationListStub {
	return slices.SortedFunc(slices.Values(allocs), func(a, b *api.AllocationListStub) int {
		return strings.Compare(a.Name+a.ID, b.Name+b.ID)
	})
}
