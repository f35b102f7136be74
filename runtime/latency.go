package runtime

import "github.com/prometheus/client_golang/prometheus"

// latencyObjectives are the quantiles of Pulsar's Java instance, each with
// the rank error allowed. Pulsar allows 0.01 on each; the tail is what
// dashboards watch, so here it is tighter, at little cost.
var latencyObjectives = map[float64]float64{0.5: 0.05, 0.9: 0.01, 0.99: 0.001, 0.999: 0.0001}

// newLatency is pulsar_function_process_latency_ms. Like Pulsar's Java
// instance (and client_golang's defaults) its quantiles cover the last ten
// minutes, so they follow the present load; _sum and _count cover all.
func newLatency(labels prometheus.Labels) prometheus.Summary {
	return prometheus.NewSummary(prometheus.SummaryOpts{
		Name:        metricPrefix + "process_latency_ms",
		Help:        "Process latency in milliseconds.",
		ConstLabels: labels,
		Objectives:  latencyObjectives,
	})
}
