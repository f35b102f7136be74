package podshell

import (
	"encoding/json"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// helperEnv switches the test binary into a helper: run under the name of
// one of the tools (through a symbolic link), it is that tool; run as
// fakeInstance, it is an instance binary that reports how it was started.
const (
	helperEnv    = "PODSHELL_TEST_HELPER"
	fakeInstance = "meshrt"

	// instanceWait bounds how long the fake instance waits for SIGTERM, so
	// that a failed test leaves no process behind.
	instanceWait = 30 * time.Second
)

// instanceReport is the fake instance's first line of output.
type instanceReport struct {
	Args []string `json:"args"`
	PID  int      `json:"pid"`
	Env  []string `json:"env"`
	Dir  string   `json:"dir"`
}

// instanceStopped is the fake instance's last line, on SIGTERM.
const instanceStopped = "stopped by SIGTERM"

func TestMain(m *testing.M) {
	if os.Getenv(helperEnv) != "" {
		os.Exit(helper())
	}
	os.Exit(m.Run())
}

func helper() int {
	name := filepath.Base(os.Args[0])
	if Tool(name) {
		return Run(name, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	}
	if name != fakeInstance {
		fmt.Fprintf(os.Stderr, "%s: no such test helper\n", name)
		return exitNotFound
	}
	// Like runtime.Main: drain on SIGTERM.
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM)
	dir, _ := os.Getwd()
	json.NewEncoder(os.Stdout).Encode(instanceReport{Args: os.Args[1:], PID: os.Getpid(), Env: os.Environ(), Dir: dir})
	select {
	case <-stop:
		fmt.Println(instanceStopped)
		return exitOK
	case <-time.After(instanceWait):
		return exitFailure
	}
}
