package nomad

import (
	"io"
	"syscall"
	"testing"
	"time"

	"github.com/meshc/meshc/internal/meshgen"
	"github.com/meshc/meshc/internal/plantest"
)

// BenchmarkFiles measures what meshc emit --backend nomad spends on a
// planned mesh of 1,000 functions: building the job, then writing it as
// JSON and as HCL, each on its own, and the files written out as the
// compile's stage "emit nomad" measures it.
func BenchmarkFiles(b *testing.B) {
	p := plantest.Generated(b, meshgen.Mixed, 1000)
	job, err := Job(p, Options{})
	if err != nil {
		b.Fatal(err)
	}
	for _, bb := range []struct {
		name string
		run  func() error
	}{
		{"job", func() error { _, err := Job(p, Options{}); return err }},
		{"json", func() error { _, err := JSON(job); return err }},
		{"hcl", func() error { _, err := HCL(job); return err }},
		{"files", func() error {
			files, err := Files(p, Options{})
			for _, f := range files {
				if err == nil {
					err = f.Write(io.Discard)
				}
			}
			return err
		}},
	} {
		b.Run(bb.name, func(b *testing.B) {
			b.ReportAllocs()
			start := cpuTime()
			for b.Loop() {
				if err := bb.run(); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(cpuTime()-start)/float64(b.N), "cpu-ns/op")
		})
	}
}

// cpuTime is the CPU time of the process, the collector's included: on a
// busy machine it holds where wall time does not.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru) // cannot fail for RUSAGE_SELF
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
