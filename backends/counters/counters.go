// Package counters reads what an instance counts from its Prometheus
// metrics, as it serves them on /metrics and writes them when it stops:
// the numbers `meshc stats` and the totals of `meshc run` show, for
// instances on any backend.
package counters

import (
	"context"
	"fmt"
	"io"
	"net/http"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/meshc/meshc/runtime"
)

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

// Scrape reads the counters of the instance serving /metrics at addr.
func Scrape(ctx context.Context, client *http.Client, addr string) (Counters, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/metrics", nil)
	if err != nil {
		return Counters{}, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return Counters{}, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return Counters{}, fmt.Errorf("metrics of %s: %s", addr, resp.Status)
	}
	return Read(resp.Body)
}

// Read reads an instance's counters from the Prometheus text format.
func Read(r io.Reader) (Counters, error) {
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
