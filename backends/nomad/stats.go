package nomad

import (
	"context"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/hashicorp/nomad/api"

	"github.com/meshc/meshc/backends/counters"
)

// httpPort labels the port of an instance's /metrics, /healthz and /readyz.
const httpPort = "http"

// scrapeClient reads instances' metrics; an instance that does not answer
// soon counts as not up.
var scrapeClient = &http.Client{Timeout: 2 * time.Second}

// Stats reads the counters of a mesh's running instances, or of one
// function's, summed per function, from each allocation's metrics port;
// names lists the functions in the job's order. An instance that does not
// answer counts as not up. Counters start from zero when Nomad starts an
// instance again.
func (cl *Cluster) Stats(ctx context.Context, mesh, function string) (stats map[string]counters.Counters, names []string, err error) {
	job, err := cl.job(ctx, mesh)
	if err != nil {
		return nil, nil, err
	}
	if function != "" {
		if _, err := groupNamed(job, function); err != nil {
			return nil, nil, err
		}
	}
	stats = map[string]counters.Counters{}
	for _, g := range job.TaskGroups {
		if function == "" || deref(g.Name) == function {
			names = append(names, deref(g.Name))
			stats[deref(g.Name)] = counters.Counters{InstancesWanted: deref(g.Count)}
		}
	}
	allocs, _, err := cl.api.Jobs().Allocations(mesh, false, query(ctx))
	if err != nil {
		return nil, nil, cl.wrap(err, "listing the allocations of "+mesh)
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, a := range allocs {
		if _, ok := stats[a.TaskGroup]; !ok || a.ClientStatus != api.AllocClientStatusRunning {
			continue
		}
		wg.Go(func() {
			c, err := cl.scrapeAlloc(ctx, a.ID)
			if err != nil {
				return
			}
			c.InstancesUp = 1
			mu.Lock()
			sum := stats[a.TaskGroup]
			sum.Add(c)
			stats[a.TaskGroup] = sum
			mu.Unlock()
		})
	}
	wg.Wait()
	return stats, names, nil
}

// scrapeAlloc reads the counters of one allocation's instance.
func (cl *Cluster) scrapeAlloc(ctx context.Context, id string) (counters.Counters, error) {
	a, _, err := cl.api.Allocations().Info(id, query(ctx))
	if err != nil {
		return counters.Counters{}, err
	}
	if a.AllocatedResources != nil {
		for _, p := range a.AllocatedResources.Shared.Ports {
			if p.Label == httpPort {
				return counters.Scrape(ctx, scrapeClient, net.JoinHostPort(p.HostIP, strconv.Itoa(p.Value)))
			}
		}
	}
	return counters.Counters{}, errNoPort
}
