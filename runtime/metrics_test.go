package runtime

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/meshc/meshc/planner/plan"
)

// scrapeMetrics reads /metrics at url as Prometheus does.
func scrapeMetrics(t *testing.T, url string) (map[string]*dto.MetricFamily, error) {
	t.Helper()
	resp, err := http.Get(url + "/metrics")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET /metrics: %s", resp.Status)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	return p.TextToMetricFamilies(resp.Body)
}

// value is the one sample of a counter or gauge family, or -1.
func value(fams map[string]*dto.MetricFamily, name string) float64 {
	f := fams[name]
	if f == nil || len(f.GetMetric()) != 1 {
		return -1
	}
	m := f.GetMetric()[0]
	return m.GetCounter().GetValue() + m.GetGauge().GetValue()
}

func labelsOf(m *dto.Metric) map[string]string {
	out := map[string]string{}
	for _, l := range m.GetLabel() {
		out[l.GetName()] = l.GetValue()
	}
	return out
}

// metered records each payload's length; "bad" is bad input (the
// runtime's failure, dead-lettered at once) and "oops" the function's.
func metered(ctx Context, in Input, emit Emit) error {
	ctx.RecordMetric("bytes", float64(len(in.Payload)))
	switch in.Value {
	case "bad":
		return fmt.Errorf("%w: bad", ErrBadInput)
	case "oops":
		return fmt.Errorf("oops")
	}
	return emit(in.Value)
}

// TestMetricsScrape: after a few messages /metrics parses as Prometheus
// text with Pulsar's names, labels and the counts of what happened.
func TestMetricsScrape(t *testing.T) {
	b := startBroker(t)
	c := client(t, b)
	in := topic("metrics-in")
	f := function(fmt.Sprintf("metered%d", topicSeq.Add(1)), "metered", in, topic("metrics-out"), str, str)
	f.Implementation.Kind, f.MaxRetries = "go", 0 // a failure is dead-lettered at once
	produce(t, c, in, "a", "bb", "ccc", "bad", "oops")
	listen := freeAddr(t)
	pi := &plan.Instance{APIVersion: plan.APIVersion, Mesh: plan.Mesh{Tenant: "public", Namespace: "default"}, Component: f, Index: 2}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	started := time.Now()
	go func() {
		done <- Run(ctx, Options{Plan: pi, PulsarURL: b.URL(), Registry: NewRegistry().Func("metered", metered),
			Logger: quietLog, Listen: listen, Cluster: "east"})
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	fams := settledMetrics(t, "http://"+listen)
	for name, want := range map[string]float64{
		"pulsar_function_received_total": 5, "pulsar_function_processed_successfully_total": 3,
		"pulsar_function_system_exceptions_total": 0, "pulsar_function_user_exceptions_total": 1,
		"pulsar_function_dead_lettered_total": 2, BadInputMetric: 1,
	} {
		if got := value(fams, name); got != want {
			t.Errorf("%s = %g, want %g", name, got, want)
		}
	}
	if last := int64(value(fams, "pulsar_function_last_invocation")); last < started.UnixMilli() || last > time.Now().UnixMilli() {
		t.Errorf("pulsar_function_last_invocation = %d, not during the test", last)
	}
	checkLatency(t, fams["pulsar_function_process_latency_ms"])
	checkUserMetric(t, fams["pulsar_function_user_metric_"])
	want := map[string]string{"tenant": "public", "namespace": "default", "name": f.Name, "instance_id": "2",
		"cluster": "east", "fqfn": "public/default/" + f.Name}
	for name, fam := range fams {
		for _, m := range fam.GetMetric() {
			got := labelsOf(m)
			delete(got, "metric") // the user metric's own
			if !maps.Equal(got, want) {
				t.Errorf("%s labelled %v, want %v", name, got, want)
			}
		}
	}
}

// settledMetrics scrapes until every message is settled: dead letters are
// counted once the dead-letter topic has them.
func settledMetrics(t *testing.T, url string) map[string]*dto.MetricFamily {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		fams, err := scrapeMetrics(t, url)
		if err == nil && value(fams, "pulsar_function_processed_successfully_total")+
			value(fams, "pulsar_function_dead_lettered_total") == 5 {
			return fams
		}
		if time.Now().After(deadline) {
			t.Fatalf("messages not settled: %v %v", err, fams)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func checkLatency(t *testing.T, fam *dto.MetricFamily) {
	t.Helper()
	if fam.GetType() != dto.MetricType_SUMMARY || len(fam.GetMetric()) != 1 {
		t.Fatalf("pulsar_function_process_latency_ms: %v", fam)
	}
	s := fam.GetMetric()[0].GetSummary()
	if s.GetSampleCount() != 5 || s.GetSampleSum() <= 0 {
		t.Errorf("latency count %d sum %g ms, want 5 and more than 0", s.GetSampleCount(), s.GetSampleSum())
	}
	var qs []float64
	for _, q := range s.GetQuantile() {
		qs = append(qs, q.GetQuantile())
		if v := q.GetValue(); !(v > 0 && v <= s.GetSampleSum()) {
			t.Errorf("latency quantile %g = %g ms, sum %g ms", q.GetQuantile(), v, s.GetSampleSum())
		}
	}
	if !slices.Equal(qs, []float64{0.5, 0.9, 0.99, 0.999}) {
		t.Errorf("latency quantiles %v, want Pulsar's", qs)
	}
}

func checkUserMetric(t *testing.T, fam *dto.MetricFamily) {
	t.Helper()
	if fam.GetType() != dto.MetricType_SUMMARY || len(fam.GetMetric()) != 1 {
		t.Fatalf("pulsar_function_user_metric_: %v", fam)
	}
	m := fam.GetMetric()[0]
	s := m.GetSummary()
	if labelsOf(m)["metric"] != "bytes" || s.GetSampleSum() != 13 || s.GetSampleCount() != 5 || len(s.GetQuantile()) != 0 {
		t.Errorf("user metric %v, want bytes: sum 13, count 5, no quantiles", m)
	}
}

// TestUserMetricNames: any name a function records under is served, even
// one that is not UTF-8, and a scrape before anything happened parses.
func TestUserMetricNames(t *testing.T) {
	m := newMetrics("standalone", "public", "default", "f", 0)
	srv := httptest.NewServer(m.handler(func() error { return nil }))
	defer srv.Close()
	fams, err := scrapeMetrics(t, srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := fams["pulsar_function_user_metric_"]; ok || value(fams, "pulsar_function_received_total") != 0 {
		t.Errorf("before anything: %v", fams)
	}
	m.record("ok", 1)
	m.record("bad\xff", 2)
	m.record("ok", 3) // the name's observer, held
	if fams, err = scrapeMetrics(t, srv.URL); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, u := range fams["pulsar_function_user_metric_"].GetMetric() {
		names = append(names, labelsOf(u)["metric"])
		if s := u.GetSummary(); labelsOf(u)["metric"] == "ok" && (s.GetSampleCount() != 2 || s.GetSampleSum() != 4) {
			t.Errorf("user metric ok: count %d sum %g, want 2 and 4", s.GetSampleCount(), s.GetSampleSum())
		}
	}
	if !slices.Equal(names, []string{"bad\uFFFD", "ok"}) {
		t.Errorf("user metrics %q", names)
	}
}
