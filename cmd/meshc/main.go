// Command meshc compiles .mesh files into checked graphs, instance plans and
// deployments, and runs them on one machine with an embedded broker.
package main

import (
	"fmt"
	"os"
	"runtime/pprof"
)

// cpuProfileEnv names a file to write a CPU profile of the whole command
// into, to see where a large mesh's time goes (go tool pprof).
const cpuProfileEnv = "MESHC_CPUPROFILE"

func main() {
	stop := startProfile(os.Getenv(cpuProfileEnv))
	code := Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// startProfile starts a CPU profile into path, if one is named, and
// returns what stops it.
func startProfile(path string) (stop func()) {
	if path == "" {
		return func() {}
	}
	f, err := os.Create(path)
	if err == nil {
		err = pprof.StartCPUProfile(f)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "meshc: %s: %v\n", cpuProfileEnv, err)
		return func() {}
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}
}
