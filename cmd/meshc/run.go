package main

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/meshc/meshc/backends/direct"
	"github.com/meshc/meshc/backends/local"
	"github.com/meshc/meshc/broker"
	"github.com/meshc/meshc/planner/plan"
	"github.com/meshc/meshc/runtime"
)

type runOptions struct {
	pulsarURL, adminURL string
	binary              string
	data, logDir        string
	progress            string
	drain, grace        time.Duration
	secure              secureFlags
}

func newRunCmd() *cobra.Command {
	var (
		pf paramFlags
		o  runOptions
	)
	cmd := &cobra.Command{
		Use:   "run FILE|DIR [-p NAME=VALUE]... [--params FILE]... [--pulsar-url URL]",
		Short: "Run a whole mesh on this machine, on the embedded broker unless told otherwise",
		Long: `run checks and plans FILE, starts the embedded broker (unless --pulsar-url names a
Pulsar to use), and runs every instance of every function, source and sink as a local
process, restarted with backoff if it crashes. It shows live progress: instances up,
messages per second and errors per component, refreshed in place on a terminal and as
plain lines otherwise. Sinks that print write to standard output.

The run ends on its own once its sources have produced everything and every
component has read all of its inputs. Ctrl-C (or meshc delete) stops it early: sources
first, then each component once it has read what is left in its inputs (for at most
--drain-timeout; a second Ctrl-C skips the wait), every instance settling what it has
in flight before it exits.

While it runs, meshc list, get, status, stats, start, stop, restart, trigger,
querystate, putstate and logs control it. Each instance's standard error is kept in
--log-dir.

Instances run the standard instance binary meshrt, taken from the folder of meshc
itself, else meshc's own built-in copy. A mesh that uses go("NAME") functions needs
an instance binary that registers them: pass its path with --runtime-binary.`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: meshFiles,
		RunE: func(cmd *cobra.Command, args []string) error {
			switch o.progress {
			case "auto", "plain", "off":
			default:
				return usageErrorf("--progress %q: use auto, plain or off", o.progress)
			}
			p, err := buildPlan(cmd, args[0], &pf)
			if err != nil {
				return err
			}
			if err := runnable(p, &o); err != nil {
				return &exitError{code: exitFail, err: err}
			}
			return runMesh(cmd, p, o)
		},
	}
	pf.register(cmd)
	f := cmd.Flags()
	f.StringVar(&o.pulsarURL, "pulsar-url", "", "use this Pulsar instead of starting the embedded broker")
	o.secure.register(cmd)
	f.StringVar(&o.adminURL, "admin-url", "", "Pulsar's HTTP admin URL, to see when inputs are drained (default: http://HOST:8080 of --pulsar-url)")
	f.StringVar(&o.binary, "runtime-binary", "", "the instance binary, for meshes with go(...) functions (default: meshrt)")
	f.StringVar(&o.data, "data", "", "keep the embedded broker's topics and state in this folder (default: in memory)")
	f.StringVar(&o.logDir, "log-dir", "", "keep each instance's standard error here (default: a folder per mesh in the run folder)")
	f.StringVar(&o.progress, "progress", "auto", "progress display: auto (in place on a terminal, plain lines otherwise), plain or off")
	f.DurationVar(&o.drain, "drain-timeout", 30*time.Second, "on Ctrl-C, how long each component may take to read what is left in its inputs")
	f.DurationVar(&o.grace, "grace", 15*time.Second, "how long a stopping instance may take to settle what it has in flight")
	return cmd
}

// runnable refuses what the local runtime cannot run, before anything
// starts, and names the instance binary.
func runnable(p *plan.Plan, o *runOptions) error {
	for i := range p.Components {
		c := &p.Components[i]
		if c.Implementation.Kind == "go" && o.binary == "" {
			return fmt.Errorf("%s %s uses go(%q), which meshrt does not have: build an instance binary that registers it (its main calls runtime.Main) and pass --runtime-binary PATH", c.Kind, c.Name, c.Implementation.Name)
		}
		if o.binary != "" {
			// Instances run in the mesh file's folder: a relative path
			// given here means this folder.
			abs, err := filepath.Abs(o.binary)
			if err != nil {
				return err
			}
			c.Runtime.Binary = abs
		}
	}
	return nil
}

// runMesh runs p until it is done, interrupted or deleted.
func runMesh(cmd *cobra.Command, p *plan.Plan, o runOptions) error {
	ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	stderr := cmd.ErrOrStderr()
	if o.logDir == "" {
		o.logDir = filepath.Join(local.RunDir(), p.Mesh.Name+"-logs")
	}
	if err := o.fromMesh(p.Mesh.Pulsar); err != nil {
		return &exitError{code: exitFail, err: err}
	}
	pulsarURL, adminURL, closeBroker, err := pulsarFor(ctx, o)
	if err != nil {
		return &exitError{code: exitFail, err: err}
	}
	defer closeBroker()
	conn, err := o.secure.connection(pulsarURL, stderr)
	if err != nil {
		return &exitError{code: exitFail, err: err}
	}
	if o.pulsarURL != "" {
		// A Pulsar that cannot be reached is said now, not after every
		// instance's client has given up.
		if err := direct.Probe(pulsarURL); err != nil {
			return &exitError{code: exitFail, err: err}
		}
		if err := preflight(ctx, conn, p); err != nil {
			return &exitError{code: exitFail, err: err}
		}
	}

	prog := newProgress(cmd.OutOrStdout(), stderr, o.progress)
	mesh, err := local.New(p, local.Options{
		PulsarURL: pulsarURL, Connection: conn, AdminURL: adminURL, LogDir: o.logDir, Stdout: prog.stdout(), Grace: o.grace,
		// exec(...), wasm(...) and file paths in a mesh are relative to it.
		Dir:     meshDir(p.Mesh.Source),
		Command: func(c *plan.Component) ([]string, error) { return local.Resolve(c.Runtime, selfCommand()) },
		Logger:  slog.New(slog.NewTextHandler(prog.stderr(), &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	if err != nil {
		return &exitError{code: exitFail, err: err}
	}
	deleted := make(chan struct{}, 1)
	api, unregister, err := serveControl(mesh, p, pulsarURL, adminURL, o.logDir, func() {
		select {
		case deleted <- struct{}{}:
		default: // a delete is under way already
		}
	})
	if err != nil {
		return &exitError{code: exitFail, err: err}
	}
	defer unregister()
	if err := clearLogs(o.logDir); err != nil {
		return &exitError{code: exitFail, err: err}
	}
	fmt.Fprintf(prog.stderr(), "mesh %s on %s; control API on %s; instance logs in %s\n", p.Mesh.Name, pulsarURL, api, o.logDir)
	if err := mesh.Start(ctx, ""); err != nil {
		mesh.Stop("")
		return &exitError{code: exitFail, err: err}
	}
	why := watch(ctx, mesh, prog, deleted)
	prog.finish()
	fmt.Fprintf(stderr, "mesh %s: %s; stopping\n", p.Mesh.Name, why)
	if why == "interrupted" {
		fmt.Fprintln(stderr, "(Ctrl-C again to stop without waiting for inputs to drain)")
	}
	shutdown(mesh, why, o.drain)
	fmt.Fprintf(stderr, "mesh %s stopped\n", p.Mesh.Name)
	writeTotals(stderr, mesh)
	return nil
}

const sourcesDone = "its sources are done"

// watch refreshes the progress display until the run should end, and
// says why it ends.
func watch(ctx context.Context, mesh *local.Mesh, prog *progress, deleted chan struct{}) string {
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return "interrupted"
		case <-deleted:
			return "deleted"
		case <-tick.C:
		}
		prog.refresh(ctx, mesh)
		if mesh.SourcesDone() {
			return sourcesDone
		}
	}
}

// shutdown stops the mesh in order. When the sources are done, each
// component reads everything left; otherwise it gets the drain timeout.
// Another Ctrl-C skips the waits.
func shutdown(mesh *local.Mesh, why string, drain time.Duration) {
	ctx := context.Background()
	if why != sourcesDone {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, drain)
		defer cancel()
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	mesh.Shutdown(ctx)
}

// pulsarFor starts the embedded broker unless a Pulsar is given.
func pulsarFor(ctx context.Context, o runOptions) (pulsarURL, adminURL string, closeFn func(), err error) {
	if o.pulsarURL != "" {
		adminURL = o.adminURL
		if adminURL == "" {
			u, err := url.Parse(o.pulsarURL)
			if err != nil || u.Hostname() == "" {
				return "", "", nil, fmt.Errorf("--pulsar-url %q: want pulsar://HOST:PORT", o.pulsarURL)
			}
			adminURL = "http://" + net.JoinHostPort(u.Hostname(), "8080")
		}
		return o.pulsarURL, adminURL, func() {}, nil
	}
	b, err := broker.New(broker.Config{Listen: "127.0.0.1:0", AdminListen: "127.0.0.1:0", DataDir: o.data})
	if err != nil {
		return "", "", nil, err
	}
	if err := b.Start(context.WithoutCancel(ctx)); err != nil {
		return "", "", nil, fmt.Errorf("starting the embedded broker: %w", err)
	}
	return b.URL(), b.AdminURL(), func() { b.Close() }, nil
}

// serveControl serves the control API on a free port of 127.0.0.1 and
// registers the run where the lifecycle commands find it.
func serveControl(mesh *local.Mesh, p *plan.Plan, pulsarURL, adminURL, logDir string, onDelete func()) (addr string, closeFn func(), err error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, fmt.Errorf("control API: %w", err)
	}
	srv := local.NewServer(mesh, onDelete)
	hs := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 5 * time.Second}
	go hs.Serve(l)
	remove, err := local.Register(local.RunInfo{Mesh: p.Mesh.Name, Source: p.Mesh.Source, Addr: l.Addr().String(),
		PID: os.Getpid(), PulsarURL: pulsarURL, AdminURL: adminURL, LogDir: logDir})
	if err != nil {
		hs.Close()
		return "", nil, err
	}
	return l.Addr().String(), func() {
		remove()
		srv.Close() // log streams end whole before the connections close
		hs.Close()
	}, nil
}

// selfCommand runs this program's hidden instance command: meshrt built
// into meshc. It is found by the name it was started with, so that a
// program reached through a link keeps its name.
func selfCommand() []string {
	exe := os.Args[0]
	if !strings.ContainsRune(exe, filepath.Separator) {
		if p, err := exec.LookPath(exe); err == nil {
			exe = p
		}
	} else if abs, err := filepath.Abs(exe); err == nil {
		exe = abs
	}
	return []string{exe, "instance"}
}

// clearLogs removes the instance logs of an earlier run from dir.
func clearLogs(dir string) error {
	old, _ := filepath.Glob(filepath.Join(dir, "*-*.log"))
	for _, f := range old {
		if err := os.Remove(f); err != nil {
			return fmt.Errorf("clearing the logs of an earlier run: %w", err)
		}
	}
	return nil
}

// fromMesh takes what the mesh's pulsar block says where the flags say
// nothing: its URLs and settings, and its secrets as files by their flags.
func (o *runOptions) fromMesh(p *plan.Pulsar) error {
	if p != nil && o.pulsarURL == "" {
		o.pulsarURL, o.adminURL = p.URL, cmp.Or(o.adminURL, p.AdminURL)
	}
	return o.secure.fromMesh(p)
}

// preflightTimeout bounds the look-up that checks the credentials before
// anything runs.
const preflightTimeout = 20 * time.Second

// preflight checks that the broker takes the connection's credentials and
// lets its role look up a topic of the mesh, so that a refusal is said now
// with the broker's reason.
func preflight(ctx context.Context, conn runtime.Connection, p *plan.Plan) error {
	for _, t := range p.Topics {
		if t.Pattern == "" {
			ctx, cancel := context.WithTimeout(ctx, preflightTimeout)
			defer cancel()
			return conn.Preflight(ctx, t.FQN)
		}
	}
	return nil
}
