package nomad

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/hashicorp/nomad/api"
)

// MetaStoppedMin remembers a stopped function's scaling minimum.
const MetaStoppedMin = "meshc_stopped_min"

// Stop stops a mesh's instances and waits until they have stopped. The
// whole mesh stops as `nomad job stop` does: the job stays, to be started
// again. One function stops by a new job version with its count at 0,
// which remembers the count for Start.
func (cl *Cluster) Stop(ctx context.Context, mesh, function string) error {
	job, err := cl.job(ctx, mesh)
	if err != nil {
		return err
	}
	running, err := cl.liveAllocs(ctx, mesh, function)
	if err != nil {
		return err
	}
	if function == "" {
		if _, _, err := cl.api.Jobs().Deregister(mesh, false, write(ctx)); err != nil {
			return cl.wrap(err, "stopping job "+mesh)
		}
		return cl.awaitStopped(ctx, running)
	}
	g, err := groupNamed(job, function)
	if err != nil {
		return err
	}
	if g.Meta[MetaStoppedCount] != "" {
		return nil // stopped already
	}
	setMeta(g, MetaStoppedCount, strconv.Itoa(*g.Count))
	if g.Scaling != nil && g.Scaling.Min != nil {
		// Nomad refuses a count below the scaling minimum.
		setMeta(g, MetaStoppedMin, strconv.FormatInt(*g.Scaling.Min, 10))
		g.Scaling.Min = ptr[int64](0)
	}
	g.Count = ptr(0)
	if _, err := cl.register(ctx, job); err != nil {
		return err
	}
	return cl.awaitStopped(ctx, running)
}

// Start starts what Stop stopped, and waits until it is healthy: the
// whole mesh (and every function stopped alone), or one function.
func (cl *Cluster) Start(ctx context.Context, mesh, function string) error {
	job, err := cl.job(ctx, mesh)
	if err != nil {
		return err
	}
	changed := deref(job.Stop)
	job.Stop = ptr(false)
	for _, g := range job.TaskGroups {
		if function == "" || *g.Name == function {
			changed = restore(g) || changed
		}
	}
	if function != "" {
		if _, err := groupNamed(job, function); err != nil {
			return err
		}
	}
	if !changed {
		return nil // running already
	}
	evalID, err := cl.register(ctx, job)
	if err != nil {
		return err
	}
	if version, err := cl.await(ctx, io.Discard, mesh, evalID); err != nil {
		return cl.failure(ctx, mesh, version, err)
	}
	return nil
}

// restore undoes a function's stop; it tells whether there was one.
func restore(g *api.TaskGroup) bool {
	count, err := strconv.Atoi(g.Meta[MetaStoppedCount])
	if err != nil {
		return false
	}
	g.Count = ptr(count)
	if m, err := strconv.ParseInt(g.Meta[MetaStoppedMin], 10, 64); err == nil && g.Scaling != nil {
		g.Scaling.Min = ptr(m)
	}
	delete(g.Meta, MetaStoppedCount)
	delete(g.Meta, MetaStoppedMin)
	return true
}

func setMeta(g *api.TaskGroup, k, v string) {
	if g.Meta == nil {
		g.Meta = map[string]string{}
	}
	g.Meta[k] = v
}

// register writes back a job read from the cluster, unless it changed
// meanwhile, and returns the evaluation's ID.
func (cl *Cluster) register(ctx context.Context, job *api.Job) (string, error) {
	resp, _, err := cl.api.Jobs().RegisterOpts(job, &api.RegisterOptions{EnforceIndex: true, ModifyIndex: deref(job.JobModifyIndex)}, write(ctx))
	if err != nil {
		return "", cl.wrap(err, "updating job "+deref(job.ID)+" (if it changed meanwhile, try again)")
	}
	return resp.EvalID, nil
}

// Restart restarts a mesh's running instances in place, one at a time,
// each once it runs again: the mesh keeps processing throughout.
func (cl *Cluster) Restart(ctx context.Context, mesh, function string) error {
	job, err := cl.job(ctx, mesh)
	if err != nil {
		return err
	}
	if function != "" {
		if _, err := groupNamed(job, function); err != nil {
			return err
		}
	}
	ids, err := cl.liveAllocs(ctx, mesh, function)
	if err != nil {
		return err
	}
	for _, id := range ids {
		a, _, err := cl.api.Allocations().Info(id, query(ctx))
		if err != nil {
			return cl.wrap(err, "reading allocation "+shortID(id))
		}
		if a.ClientStatus != api.AllocClientStatusRunning {
			continue
		}
		asked := time.Now()
		if err := cl.api.Allocations().Restart(a, "", query(ctx)); err != nil {
			return cl.wrap(err, "restarting instance "+a.Name)
		}
		if err := cl.awaitRestarted(ctx, a, asked); err != nil {
			return err
		}
	}
	return nil
}

// awaitRestarted waits until each task of an allocation restarted and runs.
func (cl *Cluster) awaitRestarted(ctx context.Context, a *api.Allocation, asked time.Time) error {
	before := map[string]uint64{}
	for t, s := range a.TaskStates {
		before[t] = s.Restarts
	}
	for {
		cur, _, err := cl.api.Allocations().Info(a.ID, query(ctx))
		if err != nil {
			return cl.wrap(err, "reading allocation "+shortID(a.ID))
		}
		done := cur.ClientStatus == api.AllocClientStatusRunning
		for t, s := range cur.TaskStates {
			done = done && s.State == "running" && s.Restarts > before[t] && !s.LastRestart.Before(asked.Add(-time.Second))
		}
		if cur.ClientStatus == api.AllocClientStatusFailed {
			return fmt.Errorf("instance %s failed while restarting:%s", cur.Name, allocProblem(cur.Stub()))
		}
		if done {
			return nil
		}
		if err := cl.sleep(ctx); err != nil {
			return fmt.Errorf("instance %s did not run again after its restart: %w", cur.Name, err)
		}
	}
}

// Delete stops a mesh's instances, waits until they have stopped, and
// removes its job for good. (Purging at once would drop the allocations
// from the servers' view while their processes still stop.)
func (cl *Cluster) Delete(ctx context.Context, mesh string) error {
	if _, err := cl.job(ctx, mesh); err != nil {
		return err
	}
	running, err := cl.liveAllocs(ctx, mesh, "")
	if err != nil {
		return err
	}
	if _, _, err := cl.api.Jobs().Deregister(mesh, false, write(ctx)); err != nil {
		return cl.wrap(err, "stopping job "+mesh)
	}
	if err := cl.awaitStopped(ctx, running); err != nil {
		return err
	}
	if _, _, err := cl.api.Jobs().Deregister(mesh, true, write(ctx)); err != nil {
		return cl.wrap(err, "deleting job "+mesh)
	}
	return nil
}

// liveAllocs lists the allocations of a mesh, or of one of its functions,
// that have not stopped.
func (cl *Cluster) liveAllocs(ctx context.Context, mesh, function string) ([]string, error) {
	allocs, _, err := cl.api.Jobs().Allocations(mesh, false, query(ctx))
	if err != nil {
		return nil, cl.wrap(err, "listing the allocations of "+mesh)
	}
	var ids []string
	for _, a := range sortedAllocs(allocs) {
		if (function == "" || a.TaskGroup == function) && !terminal(a.ClientStatus) {
			ids = append(ids, a.ID)
		}
	}
	return ids, nil
}

func terminal(clientStatus string) bool {
	switch clientStatus {
	case api.AllocClientStatusComplete, api.AllocClientStatusFailed, api.AllocClientStatusLost:
		return true
	}
	return false
}

// awaitStopped waits until every allocation has stopped or is gone.
func (cl *Cluster) awaitStopped(ctx context.Context, ids []string) error {
	for len(ids) > 0 {
		a, _, err := cl.api.Allocations().Info(ids[0], query(ctx))
		switch {
		case isStatus(err, http.StatusNotFound):
		case err != nil:
			return cl.wrap(err, "reading allocation "+shortID(ids[0]))
		case !terminal(a.ClientStatus):
			if err := cl.sleep(ctx); err != nil {
				return fmt.Errorf("instance %s is still %s: %w", a.Name, a.ClientStatus, err)
			}
			continue
		}
		ids = ids[1:]
	}
	return nil
}
