package wasm

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/meshc/meshc/planner/plan"
	"github.com/meshc/meshc/runtime/external"
	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
	"github.com/tetratelabs/wazero/sys"
)

// pageSize is the size of a page of WebAssembly linear memory.
const pageSize = 64 << 10

// Options describe a module and its sandbox.
type Options struct {
	Module string        // path of the .wasm file
	Memory int64         // bytes of linear memory a module instance may use
	Time   time.Duration // the longest one call may take
	Dirs   []string      // host folders mounted read-only at the same paths
	Env    []string      // NAME=VALUE pairs, the module's whole environment
	Logger *slog.Logger  // gets the module's standard error, line by line
}

// cache keeps compiled code for the life of the process, so that a module
// compiled again (by a second function using it, or after a restart in
// the same process) is compiled once.
var cache = wazero.NewCompilationCache()

// Module is a compiled module, ready to be instantiated.
type Module struct {
	opts Options
	rt   wazero.Runtime
	cm   wazero.CompiledModule
}

// Compile reads and compiles a module, and checks that it fits its sandbox.
func Compile(ctx context.Context, opts Options) (*Module, error) {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	bin, err := os.ReadFile(opts.Module)
	if err != nil {
		return nil, fmt.Errorf("reading the WebAssembly module: %w", err)
	}
	for _, d := range opts.Dirs {
		if st, err := os.Stat(d); err != nil || !st.IsDir() {
			return nil, fmt.Errorf("sandbox folder %s: not a readable folder on this host (%v): create it or remove it from dirs", d, err)
		}
	}
	cfg := wazero.NewRuntimeConfig().WithCloseOnContextDone(true).WithCompilationCache(cache)
	if opts.Memory > 0 {
		cfg = cfg.WithMemoryLimitPages(uint32(min(opts.Memory/pageSize, 65536)))
	}
	rt := wazero.NewRuntimeWithConfig(ctx, cfg)
	if _, err := wasi_snapshot_preview1.Instantiate(ctx, rt); err != nil {
		rt.Close(ctx)
		return nil, err
	}
	cm, err := rt.CompileModule(ctx, bin)
	if err == nil {
		err = isCommand(cm)
	} else if strings.Contains(err.Error(), "over limit") {
		err = fmt.Errorf("%w: raise sandbox { memory }", err)
	}
	if err != nil {
		rt.Close(ctx)
		return nil, fmt.Errorf("WebAssembly module %s: %w", opts.Module, err)
	}
	return &Module{opts: opts, rt: rt, cm: cm}, nil
}

// isCommand refuses a module that cannot run as a WASI command.
func isCommand(cm wazero.CompiledModule) error {
	if _, ok := cm.ExportedFunctions()["_start"]; !ok {
		return errors.New("it has no _start: build a WASI command, for Go with GOOS=wasip1 GOARCH=wasm go build")
	}
	return nil
}

// Close frees the compiled module and everything instantiated from it.
func (m *Module) Close(ctx context.Context) error { return m.rt.Close(ctx) }

// Start starts one instance of the module running its main function, which
// reads calls from standard input until it ends.
func (m *Module) Start(context.Context) (*external.Child, error) {
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	cfg := wazero.NewModuleConfig().WithName("").
		WithArgs(filepath.Base(m.opts.Module)).
		WithStdin(inR).WithStdout(outW).WithStderr(external.LineLog(m.opts.Logger)).
		WithSysWalltime().WithSysNanotime().WithSysNanosleep().WithRandSource(rand.Reader)
	for _, kv := range m.opts.Env {
		for i := range len(kv) {
			if kv[i] == '=' {
				cfg = cfg.WithEnv(kv[:i], kv[i+1:])
				break
			}
		}
	}
	if len(m.opts.Dirs) > 0 {
		fs := wazero.NewFSConfig()
		for _, d := range m.opts.Dirs {
			fs = fs.WithReadOnlyDirMount(d, d)
		}
		cfg = cfg.WithFSConfig(fs)
	}
	ctx, cancel := context.WithCancel(context.Background())
	exited := make(chan struct{})
	var reason error
	go func() {
		defer close(exited)
		mod, err := m.rt.InstantiateModule(ctx, m.cm, cfg)
		if mod != nil {
			mod.Close(context.Background())
		}
		reason = exitReason(err)
		outW.Close()
		inR.CloseWithError(errors.New("the module has stopped"))
	}()
	kill := func() {
		cancel()
		inR.CloseWithError(errors.New("the module was stopped")) // wakes a module blocked reading its input
	}
	wait := func() error {
		<-exited
		cancel()
		return reason
	}
	return &external.Child{Stdin: inW, Stdout: outR, Kill: kill, Wait: wait}, nil
}

func exitReason(err error) error {
	var exit *sys.ExitError
	if errors.As(err, &exit) && exit.ExitCode() == 0 {
		return nil
	}
	return err
}

// Function is a running WebAssembly function.
type Function struct {
	*external.Runner
	mod *Module
}

// Close stops the module instance and frees the compiled module.
func (f *Function) Close() error {
	err := f.Runner.Close()
	return errors.Join(err, f.mod.Close(context.Background()))
}

// New compiles the module of a wasm component, as its instance plan says,
// and starts an instance of it. Relative paths are taken from the
// instance's working folder.
func New(ctx context.Context, inst *plan.Instance, log *slog.Logger, badInput error) (*Function, error) {
	c := &inst.Component
	if c.Implementation.Kind != "wasm" {
		return nil, fmt.Errorf("function %s runs %s, not wasm", c.Name, c.Implementation.Kind)
	}
	env, err := external.Env(inst)
	if err != nil {
		return nil, err
	}
	sb := plan.Sandbox{}
	if c.Sandbox != nil {
		sb = *c.Sandbox
	}
	opts := Options{Module: c.Implementation.Module, Memory: sb.Memory, Time: time.Duration(sb.Time), Dirs: sb.Dirs, Env: env, Logger: log}
	return Start(ctx, c.Name, opts, badInput)
}

// Start compiles a module and starts an instance of it for the function
// name; a call may take opts.Time.
func Start(ctx context.Context, name string, opts Options, badInput error) (*Function, error) {
	mod, err := Compile(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("function %s: %w", name, err)
	}
	r, err := external.New(ctx, external.Options{Name: name, Start: mod.Start, Timeout: opts.Time,
		Logger: mod.opts.Logger, BadInput: badInput})
	if err != nil {
		mod.Close(ctx)
		return nil, err
	}
	return &Function{Runner: r, mod: mod}, nil
}
