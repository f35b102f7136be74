package runtime

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics counts what an instance does, under the names and labels Pulsar
// Functions use, so existing dashboards read them. Each instance has a
// registry of its own: instances sharing a process never collide, and
// /metrics shows one instance.
type metrics struct {
	reg *prometheus.Registry

	received, processed, systemErrors, userErrors, deadLettered prometheus.Counter
	// badInput counts messages no try could handle: payloads that do not
	// fit the input schema, and inputs the function calls bad. Pulsar has
	// no such metric; it is meshc's, with the same labels.
	badInput prometheus.Counter

	latency        *latency
	lastInvocation prometheus.Gauge       // unix ms
	user           *prometheus.SummaryVec // Context.RecordMetric, by metric
	// users holds user's observer of each name recorded: a function that
	// records a metric a message finds it without hashing its labels.
	users sync.Map // name -> prometheus.Observer
}

const metricPrefix = "pulsar_function_"

// BadInputMetric counts the messages that can never be handled.
const BadInputMetric = "meshc_function_bad_input_total"

// writeFile writes the metrics as /metrics shows them to path, through a
// temporary file renamed into place: an instance's last word on its
// counters, for a runner that reads them after the process ends.
func (m *metrics) writeFile(path string) error {
	return prometheus.WriteToTextfile(path, m.reg)
}

func newMetrics(cluster, tenant, namespace, name string, index int) *metrics {
	labels := prometheus.Labels{"tenant": tenant, "namespace": namespace, "name": name,
		"instance_id": strconv.Itoa(index), "cluster": cluster, "fqfn": tenant + "/" + namespace + "/" + name}
	counter := func(name, help string) prometheus.Counter {
		return prometheus.NewCounter(prometheus.CounterOpts{Name: metricPrefix + name, Help: help, ConstLabels: labels})
	}
	m := &metrics{
		reg:          prometheus.NewRegistry(),
		received:     counter("received_total", "Messages received."),
		processed:    counter("processed_successfully_total", "Messages processed successfully."),
		systemErrors: counter("system_exceptions_total", "Failures of the runtime: decoding, sending, state."),
		userErrors:   counter("user_exceptions_total", "Errors returned by the function."),
		deadLettered: counter("dead_lettered_total", "Messages sent to the dead-letter topic."),
		badInput: prometheus.NewCounter(prometheus.CounterOpts{Name: BadInputMetric,
			Help: "Messages that can never be handled: undecodable payloads and inputs the function calls bad.", ConstLabels: labels}),
		latency: newLatency(labels),
		lastInvocation: prometheus.NewGauge(prometheus.GaugeOpts{Name: metricPrefix + "last_invocation",
			Help: "When a message was last processed, in Unix milliseconds.", ConstLabels: labels}),
		// Sum and count only, as the SPEC documents: no quantiles to keep per
		// name a function may record.
		user: prometheus.NewSummaryVec(prometheus.SummaryOpts{Name: metricPrefix + "user_metric_",
			Help: "Values recorded by the function with Context.RecordMetric.", ConstLabels: labels}, []string{"metric"}),
	}
	m.reg.MustRegister(m.received, m.processed, m.systemErrors, m.userErrors, m.deadLettered, m.badInput,
		m.latency, m.lastInvocation, m.user)
	return m
}

// observe records that a message which came at start is settled now.
// time.Since reads only the monotonic clock, half of what time.Now reads
// (a read costs about 100 ns on a virtual machine's clock).
func (m *metrics) observe(start time.Time) {
	d := time.Since(start)
	now := start.Add(d)
	m.latency.observe(d, now)
	m.lastInvocation.Set(float64(now.UnixMilli()))
}

// record adds v to the user metric name. Label values must be UTF-8 or the
// collector panics, and a function may pass any bytes.
func (m *metrics) record(name string, v float64) {
	if o, ok := m.users.Load(name); ok {
		o.(prometheus.Observer).Observe(v)
		return
	}
	o := m.user.WithLabelValues(strings.ToValidUTF8(name, "\uFFFD"))
	m.users.Store(name, o)
	o.Observe(v)
}

// handler serves /metrics, /healthz (the process answers) and /readyz
// (ready reports whether it takes messages: connected and not stopping).
func (m *metrics) handler(ready func() error) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{}))
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
