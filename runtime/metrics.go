package runtime

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
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

	latency *latency
	// epoch is when the metrics began: messages are timed by the
	// monotonic clock since, one clock read each (a read of this
	// machine's clock costs 90-370 ns), and a wall time is found from
	// one only when the metrics are read.
	epoch time.Time
	// epochUnix is epoch in Unix nanoseconds: a reading of clock added
	// to it is the wall time the latencies' spans go by.
	epochUnix int64
	// last is when the last message was settled, since epoch, plus one
	// (zero: none yet); last_invocation is read from it. It is kept
	// within a millisecond, the unit last_invocation is in, so it
	// changes at most once a millisecond: an atomic store a message
	// costs more than the load that saves it.
	last atomic.Int64
	user *prometheus.SummaryVec // Context.RecordMetric, by metric
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
		epoch:        time.Now(),
		reg:          prometheus.NewRegistry(),
		received:     counter("received_total", "Messages received."),
		processed:    counter("processed_successfully_total", "Messages processed successfully."),
		systemErrors: counter("system_exceptions_total", "Failures of the runtime: decoding, sending, state."),
		userErrors:   counter("user_exceptions_total", "Errors returned by the function."),
		deadLettered: counter("dead_lettered_total", "Messages sent to the dead-letter topic."),
		badInput: prometheus.NewCounter(prometheus.CounterOpts{Name: BadInputMetric,
			Help: "Messages that can never be handled: undecodable payloads and inputs the function calls bad.", ConstLabels: labels}),
		latency: newLatency(labels),
		// Sum and count only, as the SPEC documents: no quantiles to keep per
		// name a function may record.
		user: prometheus.NewSummaryVec(prometheus.SummaryOpts{Name: metricPrefix + "user_metric_",
			Help: "Values recorded by the function with Context.RecordMetric.", ConstLabels: labels}, []string{"metric"}),
	}
	m.epochUnix = m.epoch.UnixNano()
	m.latency.now = func() time.Time { return m.at(m.clock()) }
	lastInvocation := prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: metricPrefix + "last_invocation",
		Help: "When a message was last processed, in Unix milliseconds.", ConstLabels: labels}, m.lastInvocation)
	m.reg.MustRegister(m.received, m.processed, m.systemErrors, m.userErrors, m.deadLettered, m.badInput,
		m.latency, lastInvocation, m.user)
	return m
}

// clock is the time since the metrics began: a read of the monotonic
// clock only, half of what time.Now reads.
func (m *metrics) clock() time.Duration { return time.Since(m.epoch) }

// at is the time a reading of clock stands for.
func (m *metrics) at(c time.Duration) time.Time { return m.epoch.Add(c) }

// observe records that a message which came at start (a reading of clock)
// is settled now.
func (m *metrics) observe(start time.Duration) {
	end := m.clock()
	m.latency.observe(end-start, m.epochUnix+int64(end))
	if last := int64(end) + 1; last-m.last.Load() >= int64(time.Millisecond) {
		m.last.Store(last)
	}
}

// lastInvocation is when the last message was settled, in Unix
// milliseconds: how long ago by the monotonic clock, before the wall
// clock's time now, so that a change of the wall clock since the start
// does not shift it.
func (m *metrics) lastInvocation() float64 {
	last := m.last.Load()
	if last == 0 {
		return 0
	}
	now := time.Now()
	ago := now.Sub(m.epoch) - time.Duration(last-1)
	return float64(now.Add(-ago).UnixMilli())
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
