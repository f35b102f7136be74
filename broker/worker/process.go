package worker

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"

	"github.com/meshc/meshc/runtime"
)

// Timing of the process runtime.
const (
	// DefaultMinRestartBackoff is the first wait before an instance that
	// exited is started again; the wait doubles up to maxRestartBackoff
	// while it keeps exiting, and starts over after a run of stableRun.
	DefaultMinRestartBackoff = time.Second
	maxRestartBackoff        = time.Minute
	stableRun                = time.Minute
	// stopGrace is how long a stopped instance has after SIGTERM to
	// settle its messages (meshrt's own grace period and then some)
	// before it is killed.
	stopGrace = runtime.DefaultGracePeriod + 5*time.Second
	// probeTimeout bounds one look at an instance's /readyz or /metrics.
	probeTimeout = 2 * time.Second
)

// instance is one process of a function, kept running by supervise until
// halted, as Pulsar's process runtime keeps a function instance.
type instance struct {
	id int
	// command makes the command line of a run, with fresh ports each
	// time: a port free when it was chosen may be taken by the time the
	// process binds it, and the next run must not fail the same way.
	command    func() (argv []string, metricsPort int, err error)
	env        []string
	logPath    string
	log        *slog.Logger
	minBackoff time.Duration

	mu          sync.Mutex
	metricsPort int // of the current run
	proc        *os.Process
	restarts    int64
	lastErr     string
	stop        chan struct{} // closed by halt
	stopOnce    sync.Once
	done        chan struct{} // closed when supervise returns
}

// run starts supervising the instance.
func (in *instance) run() {
	in.stop, in.done = make(chan struct{}), make(chan struct{})
	go in.supervise()
}

// supervise runs the process again each time it exits, with a growing
// backoff, until halt.
func (in *instance) supervise() {
	defer close(in.done)
	backoff := in.minBackoff
	for {
		started := time.Now()
		err := in.runOnce()
		select {
		case <-in.stop:
			return
		default:
		}
		in.mu.Lock()
		in.restarts++
		in.lastErr = err.Error()
		in.mu.Unlock()
		if time.Since(started) > stableRun {
			backoff = in.minBackoff
		}
		in.log.Warn("function instance exited; starting it again", "error", err, "after", backoff, "log", in.logPath)
		select {
		case <-in.stop:
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, maxRestartBackoff)
	}
}

// runOnce starts the process with its output appended to its log file and
// waits for it to end.
func (in *instance) runOnce() error {
	logf, err := os.OpenFile(in.logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("opening the instance log: %w", err)
	}
	defer logf.Close()
	argv, metricsPort, err := in.command()
	if err != nil {
		return err
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr, cmd.Env, cmd.SysProcAttr = logf, logf, in.env, procAttr()
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting %s: %w", argv[0], err)
	}
	in.mu.Lock()
	in.proc, in.metricsPort = cmd.Process, metricsPort
	in.mu.Unlock()
	select {
	case <-in.stop: // halted while starting
		cmd.Process.Signal(syscall.SIGTERM)
	default:
	}
	err = cmd.Wait()
	in.mu.Lock()
	in.proc = nil
	in.mu.Unlock()
	if err == nil {
		err = errors.New("exited")
	}
	return err
}

// halt stops the instance: SIGTERM, and SIGKILL after stopGrace.
func (in *instance) halt() {
	in.stopOnce.Do(func() { close(in.stop) })
	in.mu.Lock()
	p := in.proc
	in.mu.Unlock()
	if p != nil {
		p.Signal(syscall.SIGTERM)
	}
	select {
	case <-in.done:
		return
	case <-time.After(stopGrace):
	}
	in.mu.Lock()
	if in.proc != nil {
		in.proc.Kill()
	}
	in.mu.Unlock()
	<-in.done
}

// alive says whether the process is up, and why not.
func (in *instance) alive() (bool, string) {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.proc != nil, in.lastErr
}

// ready asks the instance's /readyz whether it takes messages.
func (in *instance) ready(c *http.Client) error {
	resp, err := c.Get(fmt.Sprintf("http://127.0.0.1:%d/readyz", in.port()))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("not ready: %s", resp.Status)
	}
	return nil
}

// port is the metrics port of the current run.
func (in *instance) port() int {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.metricsPort
}

// freePort asks the system for a port of 127.0.0.1 no one listens on.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("finding a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
