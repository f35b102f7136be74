package main

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/meshc/meshc/backends/kubernetes"
	"github.com/meshc/meshc/backends/nomad"
	"github.com/meshc/meshc/compiler"
	"github.com/meshc/meshc/internal/meshgen"
	"github.com/meshc/meshc/lang"
	"github.com/meshc/meshc/planner"
	"github.com/meshc/meshc/planner/plan"
)

// Goals of the compile of a mesh, from SPEC.md's performance section.
const (
	parseBytesPerSecond = 5e6 // parse at 5 MB/s of CPU or more
	checkPer10000       = 100 * time.Millisecond
	compilePer10000     = time.Second // the whole compile, every stage
	peakBytesPerFunc    = 4 << 10
)

func main() {
	n := flag.Int("functions", 10000, "functions in the generated mesh")
	runs := flag.Int("runs", 3, "runs of each stage; the least CPU time counts")
	profile := flag.String("cpuprofile", "", "write a CPU profile of all the stages to this file")
	flag.Parse()
	if *profile != "" {
		f, err := os.Create(*profile)
		if err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "stagebench:", err)
			os.Exit(1)
		}
		defer pprof.StopCPUProfile()
	}
	if err := run(*n, *runs); err != nil {
		fmt.Fprintln(os.Stderr, "stagebench:", err)
		os.Exit(1)
	}
}

// stage is one step of the compile; it keeps its output for the next.
type stage struct {
	name string
	goal time.Duration // zero: no goal of its own, only the whole compile's
	run  func() error
}

func run(n, runs int) error {
	var (
		files []*lang.File
		mesh  *compiler.Mesh
		p     *plan.Plan
	)
	srcs := meshgen.Files(meshgen.Mixed, n, 10000)
	size := 0
	for _, s := range srcs {
		size += len(s)
	}
	// Goals are set for 10,000 functions and grow linearly.
	scaled := func(d time.Duration) time.Duration { return d * time.Duration(n) / 10000 }
	stages := []stage{
		{"parse", time.Duration(float64(size) / parseBytesPerSecond * float64(time.Second)), func() error {
			files = files[:0]
			for i, src := range srcs {
				f, diags := lang.Parse(fmt.Sprintf("mesh%d.mesh", i), []byte(src))
				if len(diags) > 0 {
					return diags
				}
				files = append(files, f)
			}
			return nil
		}},
		{"check", scaled(checkPer10000), func() error {
			var diags lang.Diagnostics
			if mesh, diags = compiler.Compile(files, nil); len(diags) > 0 {
				return diags
			}
			return nil
		}},
		{"plan", 0, func() error { p = planner.Plan(mesh, planner.Options{}); return nil }},
		{"encode", 0, func() error { _, err := plan.Encode(p); return err }},
		{"emit nomad", 0, func() error {
			j, err := nomad.Job(p, nomad.Options{})
			if err == nil {
				_, err = nomad.HCL(j)
			}
			return err
		}},
		{"emit kubernetes plain", 0, func() error {
			_, err := kubernetes.Emit(p, kubernetes.Options{Flavour: kubernetes.Plain, Image: "meshc/meshrt:1"})
			return err
		}},
		{"emit kubernetes functionmesh", 0, func() error {
			_, err := kubernetes.Emit(p, kubernetes.Options{Flavour: kubernetes.FunctionMesh, Image: "meshc/meshrt:1"})
			return err
		}},
	}
	w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(w, "stage (%d functions, %.1f MB)\tCPU time\tgoal\tgoal/CPU\t\n", n, float64(size)/1e6)
	var total time.Duration
	for _, s := range stages {
		best, err := least(runs, s.run)
		if err != nil {
			return fmt.Errorf("%s: %w", s.name, err)
		}
		total += best
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t\n", s.name, ms(best), goal(s.goal), ratio(s.goal, best))
	}
	fmt.Fprintf(w, "whole compile\t%s\t%s\t%s\t\n", ms(total), goal(scaled(compilePer10000)), ratio(scaled(compilePer10000), total))
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return fmt.Errorf("reading the peak memory: %w", err)
	}
	peak := ru.Maxrss << 10 / int64(n) // Maxrss is in KiB on Linux
	fmt.Fprintf(w, "peak RSS per function\t%.1f KB\t%.1f KB\t%.2f\t\n", float64(peak)/1024, float64(peakBytesPerFunc)/1024,
		float64(peakBytesPerFunc)/float64(peak))
	return w.Flush()
}

// least runs f runs times and returns its least CPU time, the garbage of
// earlier runs collected first.
func least(runs int, f func() error) (time.Duration, error) {
	best := time.Duration(-1)
	for range runs {
		runtime.GC()
		start := cpuTime()
		if err := f(); err != nil {
			return 0, err
		}
		if d := cpuTime() - start; best < 0 || d < best {
			best = d
		}
	}
	return best, nil
}

// cpuTime is the CPU time of the whole process, user and system, so that
// the collector's work on other threads counts too.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru) // cannot fail for RUSAGE_SELF
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond)) }

func goal(d time.Duration) string {
	if d == 0 {
		return "-"
	}
	return ms(d)
}

func ratio(goal, got time.Duration) string {
	if goal == 0 || got == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f", float64(goal)/float64(got))
}
