package wasm

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/meshc/meshc/internal/syncbuf"
	"github.com/meshc/meshc/runtime/wasm/wasmtest"
)

// guest is the test module, built once from testdata/guest.
var guest string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "meshc-wasm-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	guest, err = wasmtest.BuildTo(dir, "./testdata/guest")
	code := 1
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
	} else {
		code = m.Run()
	}
	os.RemoveAll(dir)
	os.Exit(code)
}

// msg stands for the runtime's context of one message.
type msg struct {
	context.Context
	ops []string
}

func (m *msg) InputTopic() string            { return "in" }
func (m *msg) MessageID() string             { return "1:1:0" }
func (m *msg) Key() string                   { return "" }
func (m *msg) Properties() map[string]string { return nil }
func (m *msg) EventTime() time.Time          { return time.Time{} }
func (m *msg) IncrCounter(key string, by int64) (int64, error) {
	m.ops = append(m.ops, fmt.Sprintf("incr %s %d", key, by))
	return by, nil
}
func (m *msg) GetCounter(string) (int64, error) { return 7, nil }
func (m *msg) PutState(string, []byte) error    { return nil }
func (m *msg) GetState(key string) ([]byte, bool, error) {
	return []byte("value of " + key), true, nil
}
func (m *msg) DeleteState(string) error  { return nil }
func (m *msg) Publish(string, any) error { return nil }

// start compiles the guest with opts and starts a runner on it.
func start(t *testing.T, opts Options) (*Function, *syncbuf.Buffer) {
	t.Helper()
	logs := &syncbuf.Buffer{}
	opts.Module = guest
	opts.Logger = slog.New(slog.NewTextHandler(logs, nil))
	if opts.Memory == 0 {
		opts.Memory = 64 << 20
	}
	if opts.Time == 0 {
		opts.Time = 10 * time.Second
	}
	f, err := Start(context.Background(), "guest", opts, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f, logs
}

func call(f *Function, payload string) (string, error) {
	var out []string
	err := f.Call(&msg{Context: context.Background()}, []byte(payload), func(b []byte) error {
		out = append(out, string(b))
		return nil
	})
	return strings.Join(out, "|"), err
}

func TestOneInstanceServesCallAfterCall(t *testing.T) {
	f, _ := start(t, Options{})
	for i := 1; i <= 50; i++ {
		if out, err := call(f, "hello"); err != nil || out != "HELLO" {
			t.Fatalf("call %d: %q, %v", i, out, err)
		}
	}
	if out, err := call(f, "calls"); err != nil || out != "51" {
		t.Errorf("the module counted %q calls (%v), want 51 in one instance", out, err)
	}
}

// TestModuleReadsState: a module reads state through the runtime, as a
// child process does.
func TestModuleReadsState(t *testing.T) {
	f, _ := start(t, Options{})
	if out, err := call(f, "state:k"); err != nil || out != "value of k 7" {
		t.Errorf("state: %q, %v", out, err)
	}
}

// TestEndlessLoopHitsTheTimeLimit checks that the limit stops a call that
// never ends. The limit is far above what a call that ends takes, even on a
// loaded machine under the race detector (the fresh instance's first call
// took 342ms so once), so the test checks the limit, not the machine's speed.
func TestEndlessLoopHitsTheTimeLimit(t *testing.T) {
	f, _ := start(t, Options{Time: loopLimit})
	_, err := call(f, "loop")
	if err == nil || !strings.Contains(err.Error(), "did not answer within") {
		t.Fatalf("error = %v", err)
	}
	if out, err := call(f, "calls"); err != nil || out != "1" {
		t.Errorf("after the loop: %q, %v; want a fresh instance", out, err)
	}
}

// loopLimit is the time limit of TestEndlessLoopHitsTheTimeLimit.
const loopLimit = 5 * time.Second

func TestNoFileSystem(t *testing.T) {
	f, _ := start(t, Options{})
	for _, p := range []string{"read:/etc/hostname", "read:" + guest, "list:/", "list:.", "write:/tmp/pwned"} {
		if out, err := call(f, p); err == nil {
			t.Errorf("%s: got %q, want it refused", p, out)
		}
	}
}

func TestReadOnlyFolders(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "rates.csv"), []byte("EUR,1.0"), 0o644); err != nil {
		t.Fatal(err)
	}
	f, _ := start(t, Options{Dirs: []string{dir}})
	if out, err := call(f, "read:"+filepath.Join(dir, "rates.csv")); err != nil || out != "EUR,1.0" {
		t.Errorf("reading a granted folder: %q, %v", out, err)
	}
	for _, p := range []string{"write:" + filepath.Join(dir, "pwned"), "read:/etc/hostname", "read:" + filepath.Join(dir, "../x")} {
		if out, err := call(f, p); err == nil {
			t.Errorf("%s: got %q, want it refused", p, out)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "pwned")); err == nil {
		t.Error("the module wrote into a read-only folder")
	}
}

func TestMemoryLimit(t *testing.T) {
	f, _ := start(t, Options{Memory: 32 << 20})
	if _, err := call(f, "hoard"); err == nil || !strings.Contains(err.Error(), "stopped twice") {
		t.Fatalf("error = %v", err)
	}
	if out, err := call(f, "ok"); err != nil || out != "OK" {
		t.Errorf("after running out of memory: %q, %v", out, err)
	}
}

func TestEnvironmentAndLog(t *testing.T) {
	f, logs := start(t, Options{Env: []string{"MESHC_FUNCTION_NAME=up", `MESHC_FUNCTION_CONFIG={"a":1}`}})
	if out, err := call(f, "env"); err != nil || out != `up {"a":1} ` {
		t.Errorf("env: %q, %v; want only the function's variables", out, err)
	}
	if _, err := call(f, "log"); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if !strings.Contains(logs.String(), `msg="a line from the module" stream=stderr`) {
		t.Errorf("log:\n%s", logs)
	}
}

func TestCounter(t *testing.T) {
	f, _ := start(t, Options{})
	m := &msg{Context: context.Background()}
	if err := f.Call(m, []byte("count"), func([]byte) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(m.ops, []string{"incr seen 1"}) {
		t.Errorf("operations: %v", m.ops)
	}
}

func TestCompileErrors(t *testing.T) {
	notWasm := filepath.Join(t.TempDir(), "x.wasm")
	os.WriteFile(notWasm, []byte("not wasm"), 0o644)
	tests := []struct {
		opts Options
		want string
	}{
		{Options{Module: "missing.wasm"}, "reading the WebAssembly module: open missing.wasm"},
		{Options{Module: notWasm}, "WebAssembly module " + notWasm},
		{Options{Module: guest, Memory: 1 << 20}, "over limit of 16 pages (1 Mi): raise sandbox { memory }"},
		{Options{Module: guest, Dirs: []string{"/no/such/folder"}}, "sandbox folder /no/such/folder: not a readable folder"},
	}
	for _, tt := range tests {
		m, err := Compile(context.Background(), tt.opts)
		if err == nil {
			m.Close(context.Background())
		}
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%+v: error %v, want %q", tt.opts, err, tt.want)
		}
	}
}
