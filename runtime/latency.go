package runtime

import (
	"math"
	"math/bits"
	"sync/atomic"
)

// latencies is a histogram of process latencies in buckets a quarter of a
// power of two wide: adding is one atomic increment, and a quantile read
// from it is within 12.5% of the true value. It serves the quantiles of
// pulsar_function_process_latency_ms that Pulsar's dashboards plot.
type latencies struct {
	buckets [64 * 4]atomic.Int64
}

// latencyQuantiles are those of Pulsar's Java instance.
var latencyQuantiles = []float64{0.5, 0.9, 0.99, 0.999}

func bucketOf(ns int64) int {
	if ns < 4 {
		return int(max(ns, 0)) // exact below 4 ns
	}
	e := bits.Len64(uint64(ns)) - 1 // 2^e <= ns < 2^(e+1)
	return e*4 + int(uint64(ns)>>(e-2))&3
}

// bucketMiddle is the value in the middle of bucket i, in nanoseconds.
func bucketMiddle(i int) float64 {
	if i < 4 {
		return float64(i)
	}
	e, quarter := i/4, float64(i%4)
	width := math.Ldexp(1, e-2)
	return math.Ldexp(1, e) + width*(quarter+0.5)
}

func (l *latencies) add(ns int64) { l.buckets[bucketOf(ns)].Add(1) }

// quantiles returns the quantiles qs in milliseconds, NaN when nothing was
// measured, as Prometheus summaries say it.
func (l *latencies) quantiles(qs []float64) []float64 {
	var counts [len(latencies{}.buckets)]int64
	var total int64
	for i := range l.buckets {
		counts[i] = l.buckets[i].Load()
		total += counts[i]
	}
	out := make([]float64, len(qs))
	for j, q := range qs {
		out[j] = math.NaN()
		rank, seen := int64(math.Ceil(q*float64(total))), int64(0)
		for i, n := range counts {
			if seen += n; n > 0 && seen >= rank {
				out[j] = bucketMiddle(i) / 1e6
				break
			}
		}
	}
	return out
}
