package runtime

import (
	"math"
	"testing"
)

// TestLatencyQuantiles: quantiles read from the histogram are within
// 12.5% of the true ones.
func TestLatencyQuantiles(t *testing.T) {
	var l latencies
	for ns := int64(1000); ns <= 1_000_000; ns += 1000 { // 1 µs to 1 ms, evenly
		l.add(ns)
	}
	got := l.quantiles([]float64{0.5, 0.9, 0.99})
	for i, want := range []float64{0.5, 0.9, 0.99} { // in ms
		if math.Abs(got[i]-want)/want > 0.125 {
			t.Errorf("quantile %d = %g ms, want %g ms within 12.5%%", i, got[i], want)
		}
	}
	var empty latencies
	if q := empty.quantiles([]float64{0.5}); !math.IsNaN(q[0]) {
		t.Errorf("quantile of nothing = %g, want NaN", q[0])
	}
	for _, ns := range []int64{-5, 0, 3, 4, 7, 8, 1 << 40, math.MaxInt64} {
		if i := bucketOf(ns); i < 0 || i >= len(l.buckets) {
			t.Errorf("bucketOf(%d) = %d, out of range", ns, i)
		}
	}
}
