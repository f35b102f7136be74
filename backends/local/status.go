package local

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/meshc/meshc/planner/plan"
	"github.com/meshc/meshc/runtime"
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

// Counters are an instance's metrics, by the names Pulsar Functions use.
type Counters struct {
	Received        int64   `json:"received"`
	Processed       int64   `json:"processed"`
	UserErrors      int64   `json:"userErrors"`
	SystemErrors    int64   `json:"systemErrors"`
	DeadLettered    int64   `json:"deadLettered"`
	BadInput        int64   `json:"badInput"`
	LatencySumMs    float64 `json:"latencySumMs"`
	LatencyCount    int64   `json:"latencyCount"`
	LastInvocation  int64   `json:"lastInvocation,omitempty"` // unix ms
	InstancesUp     int     `json:"instancesUp"`
	InstancesWanted int     `json:"instancesWanted"`
}

// Add sums counters, as for all instances of a component.
func (c *Counters) Add(o Counters) {
	c.Received += o.Received
	c.Processed += o.Processed
	c.UserErrors += o.UserErrors
	c.SystemErrors += o.SystemErrors
	c.DeadLettered += o.DeadLettered
	c.BadInput += o.BadInput
	c.LatencySumMs += o.LatencySumMs
	c.LatencyCount += o.LatencyCount
	c.LastInvocation = max(c.LastInvocation, o.LastInvocation)
	c.InstancesUp += o.InstancesUp
	c.InstancesWanted += o.InstancesWanted
}

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
					if s, err := scrape(ctx, st.Addr); err == nil {
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

// scrape reads the counters of one instance's /metrics.
func scrape(ctx context.Context, addr string) (Counters, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/metrics", nil)
	if err != nil {
		return Counters{}, err
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		return Counters{}, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return Counters{}, fmt.Errorf("metrics of %s: %s", addr, resp.Status)
	}
	return readCounters(resp.Body)
}

// readCounters reads an instance's counters from the Prometheus text
// format, as it serves them and as it writes them when it stops.
func readCounters(r io.Reader) (Counters, error) {
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(r)
	if err != nil {
		return Counters{}, fmt.Errorf("reading an instance's metrics: %w", err)
	}
	first := func(name string) *dto.Metric {
		if f := fams[name]; f != nil && len(f.GetMetric()) > 0 {
			return f.GetMetric()[0]
		}
		return &dto.Metric{}
	}
	count := func(name string) int64 { return int64(first(name).GetCounter().GetValue()) }
	latency := first("pulsar_function_process_latency_ms").GetSummary()
	return Counters{
		Received:       count("pulsar_function_received_total"),
		Processed:      count("pulsar_function_processed_successfully_total"),
		UserErrors:     count("pulsar_function_user_exceptions_total"),
		SystemErrors:   count("pulsar_function_system_exceptions_total"),
		DeadLettered:   count("pulsar_function_dead_lettered_total"),
		BadInput:       count(runtime.BadInputMetric),
		LatencySumMs:   latency.GetSampleSum(),
		LatencyCount:   int64(latency.GetSampleCount()),
		LastInvocation: int64(first("pulsar_function_last_invocation").GetGauge().GetValue()),
	}, nil
}
