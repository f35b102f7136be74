package runtime

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// TestLatencyQuantiles: the summary reports each of Pulsar's quantiles, in
// milliseconds, within 0.4% of the true value, and NaN before anything was
// measured.
func TestLatencyQuantiles(t *testing.T) {
	empty := summaryOf(t, newLatency(nil))
	for _, q := range empty.GetQuantile() {
		if !math.IsNaN(q.GetValue()) {
			t.Errorf("quantile %g of nothing = %g, want NaN", q.GetQuantile(), q.GetValue())
		}
	}
	for _, tc := range []struct {
		name string
		ns   func(r *rand.Rand) int64
	}{
		{"even, 0.1 µs to 1 ms", func(r *rand.Rand) int64 { return 100 + r.Int64N(1_000_000) }},
		{"long tail, 10 µs to 10 s", func(r *rand.Rand) int64 { return int64(1e4 * math.Exp(r.ExpFloat64()*2)) }},
		{"a few values", func(r *rand.Rand) int64 { return []int64{3, 77, 5000, 1e9}[r.IntN(4)] }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := newLatency(nil)
			r := rand.New(rand.NewPCG(1, 2))
			const n = 100_000
			now := time.Now()
			var all []float64
			var sum int64
			for range n {
				d := tc.ns(r)
				l.observe(time.Duration(d), now.UnixNano())
				all = append(all, float64(d)/1e6)
				sum += d
			}
			slices.Sort(all)
			s := summaryOf(t, l)
			if s.GetSampleCount() != n || math.Abs(s.GetSampleSum()-float64(sum)/1e6) > 1e-6*float64(sum)/1e6 {
				t.Errorf("count %d sum %g, want %d and %g", s.GetSampleCount(), s.GetSampleSum(), n, float64(sum)/1e6)
			}
			var qs []float64
			for _, q := range s.GetQuantile() {
				qs = append(qs, q.GetQuantile())
				want := all[int(math.Ceil(q.GetQuantile()*n))-1]
				if got := q.GetValue(); math.Abs(got-want) > want/256+1e-9 {
					t.Errorf("quantile %g = %g ms, want %g ± 0.4%%", q.GetQuantile(), got, want)
				}
			}
			if !slices.Equal(qs, latencyQuantiles) {
				t.Errorf("quantiles %v, want %v", qs, latencyQuantiles)
			}
		})
	}
}

// TestLatencyWindow: the quantiles cover the last ten minutes; _sum and
// _count all time.
func TestLatencyWindow(t *testing.T) {
	l := newLatency(nil)
	start := time.Unix(1_700_000_000, 0)
	for i := range 1000 {
		l.observe(time.Second, start.Add(time.Duration(i)*time.Millisecond).UnixNano())
	}
	later := start.Add(latencyWindow + latencySpan)
	for range 10 {
		l.observe(time.Millisecond, later.UnixNano())
	}
	counts, total := l.window(later)
	if total != 10 || counts[latencyBucket(uint64(time.Millisecond))] != 10 {
		t.Errorf("window holds %d latencies, want the 10 of the last ten minutes", total)
	}
	if l.count.Load() != 1010 {
		t.Errorf("count %d, want 1010", l.count.Load())
	}
}

// TestLatencyBuckets: every bucket's middle falls in that bucket, and
// buckets rise with the latency.
func TestLatencyBuckets(t *testing.T) {
	last := -1
	for ns := uint64(0); ns < 1<<latencyMaxBits; ns = ns*17/16 + 1 {
		b := latencyBucket(ns)
		if b < last {
			t.Fatalf("bucket of %d ns is %d, below %d", ns, b, last)
		}
		if got := latencyBucket(uint64(latencyMid(b))); got != b {
			t.Fatalf("middle %g of bucket %d (of %d ns) falls in bucket %d", latencyMid(b), b, ns, got)
		}
		last = b
	}
	if got := latencyBucket(math.MaxUint64); got != latencyBuckets-1 {
		t.Errorf("bucket of the longest latency %d, want the last, %d", got, latencyBuckets-1)
	}
}

func summaryOf(t *testing.T, c prometheus.Collector) *dto.Summary {
	t.Helper()
	ch := make(chan prometheus.Metric, 1)
	c.Collect(ch)
	var out dto.Metric
	if err := (<-ch).Write(&out); err != nil {
		t.Fatal(err)
	}
	return out.GetSummary()
}
