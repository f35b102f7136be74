package runtime

import (
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// metrics counts what an instance does, under the names Pulsar Functions
// use, so existing dashboards read them.
type metrics struct {
	labels string // tenant, namespace, name, instance_id, cluster, fqfn

	received, processed, systemErrors, userErrors, deadLettered atomic.Int64
	latencyNanos, latencyCount                                  atomic.Int64
	latency                                                     latencies
	lastInvocation                                              atomic.Int64 // unix ms

	mu   sync.Mutex
	user map[string]*userMetric
}

type userMetric struct{ sum, count float64 }

func newMetrics(cluster, tenant, namespace, name string, index int) *metrics {
	return &metrics{
		labels: fmt.Sprintf(`tenant=%q,namespace=%q,name=%q,instance_id="%d",cluster=%q,fqfn=%q`,
			tenant, namespace, name, index, cluster, tenant+"/"+namespace+"/"+name),
		user: map[string]*userMetric{},
	}
}

func (m *metrics) observe(start time.Time) {
	now := time.Now()
	d := int64(now.Sub(start))
	m.latencyNanos.Add(d)
	m.latencyCount.Add(1)
	m.latency.add(d)
	m.lastInvocation.Store(now.UnixMilli())
}

func (m *metrics) record(name string, v float64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	u := m.user[name]
	if u == nil {
		u = &userMetric{}
		m.user[name] = u
	}
	u.sum += v
	u.count++
}

// write prints the metrics in the Prometheus text format.
func (m *metrics) write(w io.Writer) {
	counter := func(name, help string, v int64) {
		fmt.Fprintf(w, "# HELP pulsar_function_%s %s\n# TYPE pulsar_function_%s counter\npulsar_function_%s{%s} %d\n",
			name, help, name, name, m.labels, v)
	}
	counter("received_total", "Messages received.", m.received.Load())
	counter("processed_successfully_total", "Messages processed successfully.", m.processed.Load())
	counter("system_exceptions_total", "Failures of the runtime: decoding, sending, state.", m.systemErrors.Load())
	counter("user_exceptions_total", "Errors returned by the function.", m.userErrors.Load())
	counter("dead_lettered_total", "Messages sent to the dead-letter topic.", m.deadLettered.Load())
	fmt.Fprintf(w, "# TYPE pulsar_function_process_latency_ms summary\n")
	for i, v := range m.latency.quantiles(latencyQuantiles) {
		fmt.Fprintf(w, "pulsar_function_process_latency_ms{%s,quantile=\"%g\"} %g\n", m.labels, latencyQuantiles[i], v)
	}
	fmt.Fprintf(w, "pulsar_function_process_latency_ms_sum{%s} %g\npulsar_function_process_latency_ms_count{%s} %d\n",
		m.labels, float64(m.latencyNanos.Load())/1e6, m.labels, m.latencyCount.Load())
	fmt.Fprintf(w, "# TYPE pulsar_function_last_invocation gauge\npulsar_function_last_invocation{%s} %d\n", m.labels, m.lastInvocation.Load())
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.user) > 0 {
		fmt.Fprintf(w, "# TYPE pulsar_function_user_metric_ summary\n")
	}
	for _, name := range slices.Sorted(maps.Keys(m.user)) {
		u := m.user[name]
		fmt.Fprintf(w, "pulsar_function_user_metric__sum{%s,metric=%q} %g\npulsar_function_user_metric__count{%s,metric=%q} %g\n",
			m.labels, name, u.sum, m.labels, name, u.count)
	}
}

// handler serves /metrics, /healthz (the process answers) and /readyz
// (ready reports whether it takes messages: connected and not stopping).
func (m *metrics) handler(ready func() error) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/metrics", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		m.write(w)
	})
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, _ *http.Request) {
		if err := ready(); err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ok")
	})
	return mux
}
