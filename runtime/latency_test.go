package runtime

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// TestLatencyQuantiles: the summary reports each of Pulsar's quantiles, in
// milliseconds, within the rank error its objective allows, and NaN before
// anything was measured.
func TestLatencyQuantiles(t *testing.T) {
	empty := summaryOf(t, newLatency(nil))
	for _, q := range empty.GetQuantile() {
		if !math.IsNaN(q.GetValue()) {
			t.Errorf("quantile %g of nothing = %g, want NaN", q.GetQuantile(), q.GetValue())
		}
	}
	l := newLatency(nil)
	const n = 10_000 // 0.1 µs to 1 ms evenly, in random order
	for _, i := range rand.New(rand.NewPCG(1, 2)).Perm(n) {
		l.Observe(float64(i+1) / n)
	}
	s := summaryOf(t, l)
	if s.GetSampleCount() != n || math.Abs(s.GetSampleSum()-(n+1)/2.0) > 1e-6 {
		t.Errorf("count %d sum %g, want %d and %g", s.GetSampleCount(), s.GetSampleSum(), n, (n+1)/2.0)
	}
	if len(s.GetQuantile()) != len(latencyObjectives) {
		t.Fatalf("%d quantiles, want %d", len(s.GetQuantile()), len(latencyObjectives))
	}
	for _, q := range s.GetQuantile() {
		want, eps := q.GetQuantile(), latencyObjectives[q.GetQuantile()]
		if got := q.GetValue(); got < want-eps-1.0/n || got > want+eps+1.0/n {
			t.Errorf("quantile %g = %g ms, want %g ± %g", want, got, want, eps)
		}
	}
}

func summaryOf(t *testing.T, m prometheus.Metric) *dto.Summary {
	t.Helper()
	var out dto.Metric
	if err := m.Write(&out); err != nil {
		t.Fatal(err)
	}
	return out.GetSummary()
}
