package pulsarworker

import (
	"io"
	"syscall"
	"testing"
	"time"

	"github.com/meshc/meshc/internal/meshgen"
	"github.com/meshc/meshc/internal/plantest"
)

// BenchmarkFiles measures what meshc emit --backend pulsar spends on a
// planned mesh of 1,000 functions: a FunctionConfig file per component,
// written out.
// It reports the process's CPU time too (the collector's included), which
// other work on a busy machine does not stretch as it does the wall clock.
func BenchmarkFiles(b *testing.B) {
	p := plantest.Generated(b, meshgen.Mixed, 1000)
	b.ReportAllocs()
	cpu := cpuTime(b)
	for b.Loop() {
		files, err := Files(p, Package{File: "meshrt"})
		if err != nil {
			b.Fatal(err)
		}
		for _, f := range files {
			if err := f.Write(io.Discard); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(cpuTime(b)-cpu)/float64(time.Millisecond)/float64(b.N), "cpu-ms/op")
}

// cpuTime is the CPU time the process has used so far.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
