package local

import (
	"context"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/meshc/meshc/backends/counters"
	"github.com/meshc/meshc/planner/plan"
)

// InstanceStatus is what Status reports of one instance.
type InstanceStatus struct {
	Component string    `json:"component"`
	Kind      plan.Kind `json:"kind"`
	Index     int       `json:"index"`
	State     State     `json:"state"`
	PID       int       `json:"pid,omitempty"`
	Addr      string    `json:"addr,omitempty"` // metrics and health endpoint
	Restarts  int       `json:"restarts"`
	LastExit  string    `json:"lastExit,omitempty"`
	Since     time.Time `json:"since"`
	Log       string    `json:"log"` // the file holding its standard error
}

func (i *instance) status() InstanceStatus {
	i.mu.Lock()
	defer i.mu.Unlock()
	return InstanceStatus{Component: i.comp.Name, Kind: i.comp.Kind, Index: i.index, State: i.state, PID: i.pid,
		Addr: i.addr, Restarts: i.restarts, LastExit: i.lastExit, Since: i.since, Log: i.log}
}

// Status reports the instances of a component, or of every component for
// "", in topological order.
func (m *Mesh) Status(name string) ([]InstanceStatus, error) {
	comps, err := m.lookup(name)
	if err != nil {
		return nil, err
	}
	var out []InstanceStatus
	for _, c := range comps {
		for _, i := range c.instances {
			out = append(out, i.status())
		}
	}
	return out, nil
}

var httpClient = &http.Client{Timeout: 2 * time.Second}

// watchReady marks the instance running once its endpoint answers ready,
// and gives up when the process it watches is gone.
func (i *instance) watchReady(pid int, addr string) {
	for {
		time.Sleep(50 * time.Millisecond)
		i.mu.Lock()
		current := i.pid == pid && i.state == Starting
		i.mu.Unlock()
		if !current {
			return
		}
		if ready(addr) {
			i.mu.Lock()
			if i.pid == pid && i.state == Starting {
				i.state, i.since = Running, time.Now()
			}
			i.mu.Unlock()
			return
		}
	}
}

// ready asks an instance's /readyz, or /healthz where it has none.
func ready(addr string) bool {
	for _, path := range []string{"/readyz", "/healthz"} {
		resp, err := httpClient.Get("http://" + addr + path)
		if err != nil {
			return false
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			return resp.StatusCode == http.StatusOK
		}
	}
	return false
}

// Counters are an instance's metrics (see counters.Counters).
type Counters = counters.Counters

// Stats reads the metrics of each component's running instances, or of
// one component's, summed per component. An instance that cannot be
// reached counts as not up; counters add up over the restarts of an instance.
func (m *Mesh) Stats(ctx context.Context, name string) (map[string]Counters, error) {
	comps, err := m.lookup(name)
	if err != nil {
		return nil, err
	}
	out := map[string]Counters{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, c := range comps {
		out[c.plan.Name] = Counters{}
		for _, i := range c.instances {
			wg.Go(func() {
				st := i.status()
				if st.State == Running {
					if s, err := counters.Scrape(ctx, httpClient, st.Addr); err == nil {
						i.mu.Lock()
						i.last = s
						i.mu.Unlock()
					}
				}
				got := i.counters()
				got.InstancesUp, got.InstancesWanted = 0, 1
				switch st.State {
				case Running:
					got.InstancesUp = 1
				case Done:
					got.InstancesWanted = 0
				}
				mu.Lock()
				sum := out[c.plan.Name]
				sum.Add(got)
				out[c.plan.Name] = sum
				mu.Unlock()
			})
		}
	}
	wg.Wait()
	return out, nil
}
