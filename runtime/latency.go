package runtime

import (
	"math"
	"math/bits"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// latencyQuantiles are the quantiles of Pulsar's Java instance.
var latencyQuantiles = []float64{0.5, 0.9, 0.99, 0.999}

// Latencies are counted in buckets whose width is a 2^-latencySubBits part
// of their value, so a quantile is within a 2^-(latencySubBits+1) part
// (0.4%) of the true one: as precise in the tail as at the median, at the
// cost of an atomic add a message (a quantile stream, as client_golang's
// Summary keeps, cost more than that message's own handling).
const (
	latencySubBits = 7
	latencySub     = 1 << latencySubBits
	// latencyMaxBits bounds what is counted apart: 2^42 ns is over an
	// hour; longer latencies count in the last bucket.
	latencyMaxBits = 42
	latencyBuckets = (latencyMaxBits - latencySubBits + 1) * latencySub

	// Like Pulsar's Java instance (and client_golang's defaults) the
	// quantiles cover the last ten minutes, in five spans of two.
	latencyWindow = 10 * time.Minute
	latencySpans  = 5
	latencySpan   = latencyWindow / latencySpans
)

// latency is pulsar_function_process_latency_ms, a summary: its quantiles
// cover the last ten minutes, so they follow the present load; _sum and
// _count cover all.
type latency struct {
	desc  *prometheus.Desc
	count atomic.Uint64
	sum   atomic.Int64 // ns

	mu    sync.Mutex // only to start a span afresh
	spans [latencySpans]latencyCounts
	// now is the time on the clock the latencies are observed by.
	now func() time.Time
}

// latencyCounts counts one span's latencies.
type latencyCounts struct {
	span    atomic.Int64 // which span of latencySpan since the epoch it counts
	buckets [latencyBuckets]atomic.Uint32
}

func newLatency(labels prometheus.Labels) *latency {
	l := &latency{desc: prometheus.NewDesc(metricPrefix+"process_latency_ms", "Process latency in milliseconds.", nil, labels), now: time.Now}
	for i := range l.spans {
		l.spans[i].span.Store(-1)
	}
	return l
}

// observe counts a latency d measured at now, in Unix nanoseconds.
func (l *latency) observe(d time.Duration, now int64) {
	d = max(d, 0)
	l.count.Add(1)
	l.sum.Add(int64(d))
	span := now / int64(latencySpan)
	c := &l.spans[span%latencySpans]
	if c.span.Load() != span {
		l.restart(c, span)
	}
	c.buckets[latencyBucket(uint64(d))].Add(1)
}

// restart empties a span's counts for a new span, unless another observe
// did already.
func (l *latency) restart(c *latencyCounts, span int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if c.span.Load() >= span {
		return
	}
	for i := range c.buckets {
		c.buckets[i].Store(0)
	}
	c.span.Store(span)
}

// latencyBucket is the bucket of ns: below latencySub each its own, above
// latencySub buckets for each power of two.
func latencyBucket(ns uint64) int {
	n := bits.Len64(ns)
	if n <= latencySubBits {
		return int(ns)
	}
	if n > latencyMaxBits {
		return latencyBuckets - 1
	}
	shift := n - latencySubBits - 1
	return (shift+1)<<latencySubBits | int(ns>>shift)&(latencySub-1)
}

// latencyMid is the middle of a bucket, in ns.
func latencyMid(b int) float64 {
	if b < latencySub {
		return float64(b)
	}
	shift := b>>latencySubBits - 1
	low := uint64(latencySub|b&(latencySub-1)) << shift
	return float64(low) + float64(uint64(1)<<shift)/2
}

func (l *latency) Describe(ch chan<- *prometheus.Desc) { ch <- l.desc }

func (l *latency) Collect(ch chan<- prometheus.Metric) {
	counts, total := l.window(l.now())
	quantiles := make(map[float64]float64, len(latencyQuantiles))
	for _, q := range latencyQuantiles {
		quantiles[q] = math.NaN()
	}
	if total > 0 {
		var seen uint64
		qi := 0
		for b, n := range counts {
			seen += n
			for qi < len(latencyQuantiles) && float64(seen) >= latencyQuantiles[qi]*float64(total) {
				quantiles[latencyQuantiles[qi]] = latencyMid(b) / float64(time.Millisecond)
				qi++
			}
		}
	}
	ch <- prometheus.MustNewConstSummary(l.desc, l.count.Load(), float64(l.sum.Load())/float64(time.Millisecond), quantiles)
}

// window adds up the spans of the last ten minutes.
func (l *latency) window(now time.Time) (counts []uint64, total uint64) {
	span := now.UnixNano() / int64(latencySpan)
	counts = make([]uint64, latencyBuckets)
	for i := range l.spans {
		c := &l.spans[i]
		if s := c.span.Load(); s < 0 || s <= span-latencySpans {
			continue
		}
		for b := range c.buckets {
			n := uint64(c.buckets[b].Load())
			counts[b] += n
			total += n
		}
	}
	return counts, total
}
