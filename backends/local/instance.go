package local

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/meshc/meshc/backends/counters"
	"github.com/meshc/meshc/planner/plan"
)

// State is where an instance is in its life.
type State string

const (
	Stopped    State = "stopped"    // not running, and not meant to
	Starting   State = "starting"   // its process runs but is not ready yet
	Running    State = "running"    // its process runs and answered ready
	Restarting State = "restarting" // it exited unasked and waits out its backoff
	Done       State = "done"       // a source that produced everything and exited
)

// instance supervises the process of one replica.
type instance struct {
	mesh  *Mesh
	comp  *plan.Component
	index int
	plan  []byte   // the instance plan, JSON
	cmd   []string // the program and its arguments
	log   string   // the file its standard error goes to

	mu       sync.Mutex
	state    State
	pid      int
	addr     string // its metrics and health endpoint
	restarts int
	lastExit string
	last     Counters // of its process, as last read from its endpoint
	past     Counters // of its processes that have ended
	since    time.Time
	stop     chan struct{} // closed to stop the supervisor
	done     chan struct{} // closed when the supervisor has returned
}

func (i *instance) name() string { return fmt.Sprintf("%s-%d", i.comp.Name, i.index) }

// start starts the supervisor unless it runs already.
func (i *instance) start() {
	i.mu.Lock()
	defer i.mu.Unlock()
	if i.stop != nil {
		return
	}
	i.stop, i.done = make(chan struct{}), make(chan struct{})
	i.state, i.since = Starting, time.Now()
	go i.supervise(i.stop, i.done)
}

// halt stops the supervisor and its process, which gets SIGTERM and the
// grace period to settle what it has in flight, then SIGKILL.
func (i *instance) halt() {
	i.mu.Lock()
	stop, done := i.stop, i.done
	i.stop, i.done = nil, nil
	i.mu.Unlock()
	if stop == nil {
		return
	}
	close(stop)
	<-done
}

// supervise runs the process until stop is closed, restarting it with
// backoff when it exits unasked. A source that exits cleanly is done.
func (i *instance) supervise(stop, done chan struct{}) {
	defer close(done)
	backoff := i.mesh.opts.MinBackoff
	for {
		started := time.Now()
		proc, exited, err := i.launch()
		if err == nil {
			select {
			case <-stop:
				i.terminate(proc, exited)
				i.set(Stopped, "")
				return
			case err = <-exited:
			}
			if err == nil && i.comp.Kind == plan.Source {
				i.set(Done, "exit status 0")
				return
			}
			if err == nil {
				err = errors.New("exited unasked with status 0")
			}
		}
		if time.Since(started) > i.mesh.opts.MaxBackoff*4 {
			backoff = i.mesh.opts.MinBackoff // it ran well for a while: start over
		}
		i.mu.Lock()
		i.restarts++
		i.mu.Unlock()
		i.set(Restarting, err.Error())
		i.mesh.opts.Logger.Warn("instance exited, restarting", "instance", i.name(), "error", err, "in", backoff)
		select {
		case <-stop:
			i.set(Stopped, "")
			return
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, i.mesh.opts.MaxBackoff)
	}
}

func (i *instance) set(s State, exit string) {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.state, i.since, i.pid = s, time.Now(), 0
	if exit != "" {
		i.lastExit = exit
	}
}

// launch starts the process; exited yields its exit once it has ended.
func (i *instance) launch() (proc *os.Process, exited chan error, err error) {
	o := &i.mesh.opts
	addr, err := freeAddr()
	if err != nil {
		return nil, nil, err
	}
	stderr, err := os.OpenFile(i.log, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, nil, fmt.Errorf("opening the instance log: %w", err)
	}
	cmd := exec.Command(i.cmd[0], i.cmd[1:]...)
	cmd.Dir = o.Dir
	cmd.Env = append(append(os.Environ(), o.Env...), o.Connection.Env()...)
	// A source that is done exits, which is how the run knows it is done.
	// Its final counters come in a file: the last scrape may be a moment
	// old, and a source may be done before the first.
	final := i.metricsFile()
	os.Remove(final)
	cmd.Env = append(cmd.Env, "MESHC_INSTANCE_PLAN="+string(i.plan), "MESHC_PULSAR_URL="+o.PulsarURL, "MESHC_LISTEN="+addr,
		"MESHC_SOURCE_DONE=exit", "MESHC_METRICS_FILE="+final)
	out := i.mesh.out.writer()
	cmd.Stdout, cmd.Stderr = out, stderr
	cmd.SysProcAttr = procAttr()
	if err := cmd.Start(); err != nil {
		stderr.Close()
		return nil, nil, fmt.Errorf("starting %s: %w", i.cmd[0], err)
	}
	i.mu.Lock()
	i.state, i.since, i.pid, i.addr = Starting, time.Now(), cmd.Process.Pid, addr
	i.mu.Unlock()
	go i.watchReady(cmd.Process.Pid, addr)
	exited = make(chan error, 1)
	go func() {
		err := cmd.Wait()
		stderr.Close()
		out.Flush()
		i.ended(final)
		exited <- err
	}()
	return cmd.Process, exited, nil
}

// metricsFile is where the instance's process writes its final counters.
func (i *instance) metricsFile() string { return strings.TrimSuffix(i.log, ".log") + ".metrics" }

// ended adds the counters of a process that has ended to the instance's:
// the final ones it wrote, else (killed) the last read.
func (i *instance) ended(final string) {
	c, err := readCountersFile(final)
	i.mu.Lock()
	defer i.mu.Unlock()
	if err != nil {
		c = i.last
	}
	i.past.Add(c)
	i.last = Counters{}
}

// counters are the instance's counters over all its processes.
func (i *instance) counters() Counters {
	i.mu.Lock()
	defer i.mu.Unlock()
	c := i.past
	c.Add(i.last)
	return c
}

func readCountersFile(path string) (Counters, error) {
	f, err := os.Open(path)
	if err != nil {
		return Counters{}, err
	}
	defer f.Close()
	return counters.Read(f)
}

// terminate asks the process to stop and waits for it; it is killed if it
// has not stopped within the grace period.
func (i *instance) terminate(p *os.Process, exited chan error) {
	p.Signal(syscall.SIGTERM)
	select {
	case <-exited:
		return
	case <-time.After(i.mesh.opts.Grace):
	}
	i.mesh.opts.Logger.Warn("instance did not stop within its grace period, killing it", "instance", i.name())
	p.Kill()
	<-exited
}

// freeAddr finds a free port on the loopback interface for an instance's
// endpoint. Another process may take it first; the instance then fails to
// start and is restarted on another port.
func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("finding a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// logPath is the file an instance's standard error is kept in.
func logPath(dir, component string, index int) string {
	return filepath.Join(dir, fmt.Sprintf("%s-%d.log", component, index))
}
