package main

import (
	"bufio"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
)

// currentRSS is the resident memory of the process now, as Linux counts
// it in /proc/self/status.
func currentRSS() (uint64, error) { return statusBytes("VmRSS") }

// stagePeakRSS is the most resident memory since resetStagePeak.
func stagePeakRSS() (uint64, error) { return statusBytes("VmHWM") }

// resetStagePeak lets go of the memory the heap holds free, so that the
// next stage's pages are its own, and starts its peak (VmHWM) from the
// resident memory now.
func resetStagePeak() error {
	debug.FreeOSMemory()
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
		return fmt.Errorf("resetting the peak memory: %w", err)
	}
	return nil
}

// statusBytes reads a field in kB of /proc/self/status.
func statusBytes(field string) (uint64, error) {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0, fmt.Errorf("reading %s: %w", field, err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), field+":"); ok {
			kb, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("reading %s: %w", field, err)
			}
			return kb << 10, nil
		}
	}
	return 0, fmt.Errorf("reading %s: no such line in /proc/self/status", field)
}

// processPeakRSS is the most resident memory the process has had.
func processPeakRSS() (uint64, error) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, fmt.Errorf("reading the peak memory: %w", err)
	}
	return uint64(ru.Maxrss) << 10, nil // Maxrss is in KiB on Linux
}

// liveHeap is the heap that outlives a collection: what the stages keep.
func liveHeap() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// writeHeapProfile writes the heap profile as of the last collection.
func writeHeapProfile(name string) error {
	f, err := os.Create(name)
	if err == nil {
		err = pprof.WriteHeapProfile(f)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		return fmt.Errorf("writing the heap profile: %w", err)
	}
	return nil
}
