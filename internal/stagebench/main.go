package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/meshc/meshc/backends"
	"github.com/meshc/meshc/backends/kubernetes"
	"github.com/meshc/meshc/backends/nomad"
	"github.com/meshc/meshc/backends/pulsarworker"
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
	memProfile := flag.String("memprofile", "", "write a heap profile after each stage, its outputs alive, to this file with the stage's name appended (FILE.parse, ...)")
	gcPercent := flag.Int("gcpercent", 100, "the collector's GOGC, to weigh memory against CPU time")
	write := flag.String("write", "", "write the generated mesh's files into this folder, for meshc to compile, and stop")
	stagePeaks := flag.Bool("stage-peaks", false, "give each stage's own peak memory: before each, let go of the heap's free pages and start the count again (costs the next stage page faults)")
	costFile := flag.String("instance-cost", "", "add the instance runtime's rows from this output of go test -bench InstanceCost ./runtime/")
	flag.Parse()
	if *write != "" {
		if err := writeMesh(*write, *n); err != nil {
			fmt.Fprintln(os.Stderr, "stagebench:", err)
			os.Exit(1)
		}
		return
	}
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
	debug.SetGCPercent(*gcPercent)
	if *memProfile != "" {
		runtime.MemProfileRate = memProfileRate
	}
	var cost *instanceCost
	if *costFile != "" {
		c, err := readInstanceCost(*costFile)
		if err != nil {
			fmt.Fprintln(os.Stderr, "stagebench:", err)
			os.Exit(1)
		}
		cost = &c
	}
	if err := run(*n, *runs, *memProfile, *stagePeaks, cost); err != nil {
		fmt.Fprintln(os.Stderr, "stagebench:", err)
		os.Exit(1)
	}
}

// writeMesh writes the files of the generated mesh into dir, the way a
// very large mesh is kept: a folder of .mesh files.
func writeMesh(dir string, n int) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for i, src := range meshgen.Files(meshgen.Mixed, n, 10000) {
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("mesh%d.mesh", i)), []byte(src), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// stage is one step of the compile; it keeps its output for the next.
type stage struct {
	name string
	goal time.Duration // zero: no goal of its own, only the whole compile's
	run  func() error
	// done lets go of what no later stage needs, as meshc does.
	done func()
	// clear lets go of the stage's output before it runs again, so that
	// two never live at once.
	clear func()
}

// memProfileRate samples the heap finely enough to name the holders of a
// few hundred bytes per function.
const memProfileRate = 64 << 10

func run(n, runs int, memProfile string, stagePeaks bool, cost *instanceCost) error {
	// The process before the mesh exists: the runtime, the binary's own
	// data, and the collector's start. The figure per function is what the
	// compile adds to it.
	before, err := currentRSS()
	if err != nil {
		return err
	}
	var (
		srcs  = meshgen.Files(meshgen.Mixed, n, 10000)
		files []*lang.File
		mesh  *compiler.Mesh
		p     *plan.Plan
		out   any // the last output of an emit stage, alive until measured
	)
	size := 0
	for _, s := range srcs {
		size += len(s)
	}
	// Goals are set for 10,000 functions and grow linearly.
	scaled := func(d time.Duration) time.Duration { return d * time.Duration(n) / 10000 }
	clearOut := func() { out = nil }
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
		}, func() { srcs = nil }, func() { files = nil }},
		{"check", scaled(checkPer10000), func() error {
			var diags lang.Diagnostics
			if mesh, diags = compiler.Compile(files, nil); len(diags) > 0 {
				return diags
			}
			return nil
		}, func() { files = nil }, func() { mesh = nil }},
		{"plan", 0, func() error { p = planner.Plan(mesh, planner.Options{}); return nil }, func() { mesh = nil }, func() { p = nil }},
		// meshc plan writes the text as it encodes it, never holding it all.
		{"encode", 0, func() error { return plan.WriteTo(io.Discard, p) }, nil, clearOut},
		// Each emit makes what meshc emit writes, and checks it as meshc
		// does: the job as JSON and HCL; the manifests and their sizes.
		{"emit nomad", 0, func() error { return written(&out)(nomad.Files(p, nomad.Options{})) }, nil, clearOut},
		{"emit kubernetes plain", 0, func() error { return emitKubernetes(p, kubernetes.Plain, &out) }, nil, clearOut},
		{"emit kubernetes functionmesh", 0, func() error { return emitKubernetes(p, kubernetes.FunctionMesh, &out) }, nil, clearOut},
		{"emit pulsar", 0, func() error { return written(&out)(pulsarworker.Files(p, pulsarworker.Package{File: "meshrt"})) }, nil, clearOut},
	}
	w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', tabwriter.AlignRight)
	peakColumn, peakRSS := "peak RSS so far", processPeakRSS
	if stagePeaks {
		peakColumn, peakRSS = "stage's peak RSS", stagePeakRSS
	}
	fmt.Fprintf(w, "stage (%d functions, %.1f MB)\tCPU time\tgoal\tgoal/CPU\tlive heap after\t%s\t\n", n, float64(size)/1e6, peakColumn)
	var total time.Duration
	var highest uint64 // of the stages' peaks
	for _, s := range stages {
		if stagePeaks {
			runtime.GC()
			if err := resetStagePeak(); err != nil {
				return err
			}
		}
		best, err := least(runs, s)
		if err != nil {
			return fmt.Errorf("%s: %w", s.name, err)
		}
		total += best
		live := liveHeap()
		runtime.KeepAlive(out)
		if memProfile != "" {
			if err := writeHeapProfile(memProfile + "." + strings.ReplaceAll(s.name, " ", "-")); err != nil {
				return err
			}
		}
		peak, err := peakRSS()
		if err != nil {
			return err
		}
		highest = max(highest, peak)
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t\n", s.name, ms(best), goal(s.goal), ratio(s.goal, best), mb(live), mb(peak))
		out = nil
		if s.done != nil {
			s.done()
		}
	}
	fmt.Fprintf(w, "whole compile\t%s\t%s\t%s\t\t\t\n", ms(total), goal(scaled(compilePer10000)), ratio(scaled(compilePer10000), total))
	// Resetting the stages' peaks resets the process's too.
	peak, err := processPeakRSS()
	if err != nil {
		return err
	}
	peak = max(peak, highest)
	perFunc := float64(peak-before) / float64(n)
	fmt.Fprintf(w, "peak RSS - RSS before the mesh, per function\t%.1f KB\t%.1f KB\t%.2f\t\t\t\n", perFunc/1024,
		float64(peakBytesPerFunc)/1024, float64(peakBytesPerFunc)/perFunc)
	fmt.Fprintf(w, "peak RSS (before the mesh: %s)\t%s\t\t\t\t\t\n", mb(before), mb(peak))
	if cost != nil {
		cost.write(w)
	}
	return w.Flush()
}

// written writes out the files an emit makes, as meshc emit does, but to
// nowhere: a file made as it is written costs its making here. The files
// stay in out, as meshc holds them until they are written.
func written(out *any) func([]backends.File, error) error {
	return func(files []backends.File, err error) error {
		*out = files
		for _, f := range files {
			if err == nil && f.Write != nil {
				err = f.Write(io.Discard)
			}
		}
		return err
	}
}

// emitKubernetes makes the manifests of one flavour into out and, as
// meshc emit does, measures their objects against what a cluster stores
// while they are written.
func emitKubernetes(p *plan.Plan, flavour string, out *any) error {
	files, err := kubernetes.Emit(p, kubernetes.Options{Flavour: flavour, Image: "meshc/meshrt:1"})
	files, report := kubernetes.Measure(files)
	if err = written(out)(files, err); err == nil {
		_, err = report()
	}
	return err
}

// least runs the stage runs times and returns its least CPU time, the
// output and garbage of earlier runs collected first.
func least(runs int, s stage) (time.Duration, error) {
	best := time.Duration(-1)
	for range runs {
		s.clear()
		runtime.GC()
		start := cpuTime()
		if err := s.run(); err != nil {
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

func mb(b uint64) string { return fmt.Sprintf("%.1f MB", float64(b)/(1<<20)) }

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
