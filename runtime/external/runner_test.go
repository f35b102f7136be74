package external

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/meshc/meshc/internal/syncbuf"
	"github.com/meshc/meshc/runtime/external/child"
	"github.com/meshc/meshc/runtime/external/frame"
)

// The test binary is also the child: with MESHC_TEST_CHILD set it serves
// calls with testChild (or, set to "lookahead", with lookahead) instead of
// running the tests.
func TestMain(m *testing.M) {
	serve := func() error { return child.Run(testChild) }
	switch os.Getenv("MESHC_TEST_CHILD") {
	case "":
		os.Exit(m.Run())
	case "lookahead":
		serve = func() error { return lookahead(os.Stdin, os.Stdout) }
	}
	if err := serve(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(0)
}

// lookahead answers each call, with its payload, only once the next call
// has come (or at once for the payload "last"): a runtime that waits for
// one answer before it sends the next call never gets any.
func lookahead(r io.Reader, w io.Writer) error {
	in := bufio.NewReader(r)
	answer := func(c *frame.Frame) error {
		res := frame.Frame{Kind: frame.Result, ID: c.ID}
		for _, f := range c.Fields {
			if f.Tag == frame.Payload {
				res.Fields = append(res.Fields, frame.Field{Tag: frame.Output, Value: f.Value})
			}
		}
		_, err := w.Write(frame.Append(nil, &res))
		return err
	}
	var held *frame.Frame
	for {
		c, err := frame.Read(in)
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if held != nil {
			if err := answer(held); err != nil {
				return err
			}
		}
		held = c
		if slices.ContainsFunc(c.Fields, func(f frame.Field) bool { return f.Tag == frame.Payload && string(f.Value) == "last" }) {
			if err := answer(c); err != nil {
				return err
			}
			held = nil
		}
	}
}

// testChild acts on the payload: each word names a behaviour.
func testChild(m *child.Message, r *child.Result) error {
	p := string(m.Payload)
	switch {
	case p == "ops":
		r.Emit([]byte(fmt.Sprintf("key=%s props=%v topic=%s id=%s time=%d", m.Key, m.Properties, m.Topic, m.MessageID, m.EventTime.UnixMilli())))
		r.PutState("last", m.Payload)
		r.IncrCounter("seen", 2)
		r.Publish("audit", []byte("audited"))
		r.DeleteState("old")
		r.Emit([]byte("second"))
	case p == "fail":
		return errors.New("cannot do it")
	case p == "bad":
		return child.BadInput(errors.New("not a number"))
	case p == "panic":
		panic("oh no")
	case p == "log":
		fmt.Fprintln(os.Stderr, "a line for the log")
	case p == "hang":
		fmt.Fprintln(os.Stderr, "hanging")
		time.Sleep(time.Hour)
	case p == "always-crash":
		os.Exit(3)
	case strings.HasPrefix(p, "crash-once:"):
		// The file marks that the crash has happened.
		marker := strings.TrimPrefix(p, "crash-once:")
		if _, err := os.Stat(marker); err != nil {
			os.WriteFile(marker, nil, 0o644)
			os.Exit(3)
		}
		r.Emit([]byte("survived"))
	case p == "garbage":
		os.Stdout.WriteString("hello from print\n")
	case p == "read":
		return readState(r)
	default:
		r.Emit(bytes.ToUpper(m.Payload))
	}
	return nil
}

// readState reads what this call wrote and what the runtime has: the
// Python helper's ops.py does the same.
func readState(r *child.Result) error {
	r.PutState("mine", []byte("x"))
	mine, _, err := r.GetState("mine")
	if err != nil {
		return err
	}
	k, ok, err := r.GetState("k")
	if err != nil {
		return err
	}
	r.IncrCounter("n", 2)
	n, err := r.GetCounter("n")
	if err != nil {
		return err
	}
	r.Emit(fmt.Appendf(nil, "mine=%s k=%s(%v) n=%d", mine, k, ok, n))
	return nil
}

// fakeMsg stands for the runtime's context of one message and records
// what a result does to it.
type fakeMsg struct {
	context.Context
	payload string
	ops     []string
	state   *fakeState // shared by the messages of a test; nil for a function without state
}

type fakeState struct {
	mu       sync.Mutex
	values   map[string][]byte
	counters map[string]int64
}

func (m *fakeMsg) GetState(key string) ([]byte, bool, error) {
	if m.state == nil {
		return nil, false, errors.New("function testfn has no state: set state = true in the mesh")
	}
	m.state.mu.Lock()
	defer m.state.mu.Unlock()
	v, ok := m.state.values[key]
	return v, ok, nil
}

func (m *fakeMsg) GetCounter(key string) (int64, error) {
	if m.state == nil {
		return 0, errors.New("function testfn has no state: set state = true in the mesh")
	}
	m.state.mu.Lock()
	defer m.state.mu.Unlock()
	return m.state.counters[key], nil
}

func (m *fakeMsg) InputTopic() string            { return "persistent://public/default/in" }
func (m *fakeMsg) MessageID() string             { return "1:2:0" }
func (m *fakeMsg) Key() string                   { return "k1" }
func (m *fakeMsg) Properties() map[string]string { return map[string]string{"trace": "t1"} }
func (m *fakeMsg) EventTime() time.Time          { return time.UnixMilli(1700000000000) }
func (m *fakeMsg) IncrCounter(key string, by int64) (int64, error) {
	m.ops = append(m.ops, fmt.Sprintf("incr %s %d", key, by))
	return by, nil
}
func (m *fakeMsg) PutState(key string, value []byte) error {
	m.ops = append(m.ops, fmt.Sprintf("put %s %s", key, value))
	if m.state != nil {
		m.state.mu.Lock()
		m.state.values[key] = value
		m.state.mu.Unlock()
	}
	return nil
}
func (m *fakeMsg) DeleteState(key string) error {
	m.ops = append(m.ops, "delete "+key)
	return nil
}
func (m *fakeMsg) Publish(topic string, value any) error {
	m.ops = append(m.ops, fmt.Sprintf("publish %s %s", topic, value))
	return nil
}

// call sends one payload and returns the outputs, the operations and the error.
func call(r *Runner, payload string) ([]string, []string, error) {
	return callCtx(context.Background(), r, payload)
}

func callCtx(ctx context.Context, r *Runner, payload string) ([]string, []string, error) {
	m := &fakeMsg{Context: ctx, payload: payload}
	var out []string
	err := r.Call(m, []byte(payload), func(b []byte) error {
		out = append(out, string(b))
		return nil
	})
	return out, m.ops, err
}

var errBad = errors.New("bad input")

// startGoChild starts this test binary as a child.
func startGoChild(t *testing.T, opts Options) (*Runner, *syncbuf.Buffer) {
	t.Helper()
	logs := &syncbuf.Buffer{}
	log := slog.New(slog.NewTextHandler(logs, nil))
	opts.Name = "testfn"
	opts.Start = Command([]string{os.Args[0]}, []string{"MESHC_TEST_CHILD=1", "GORACE=atexit_sleep_ms=0"}, "", log)
	opts.Logger, opts.BadInput = log, errBad
	opts.MinBackoff = 10 * time.Millisecond
	r, err := New(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r, logs
}

func TestCallAppliesResult(t *testing.T) {
	r, _ := startGoChild(t, Options{})
	out, ops, err := call(r, "ops")
	if err != nil {
		t.Fatal(err)
	}
	wantOut := []string{"key=k1 props=map[trace:t1] topic=persistent://public/default/in id=1:2:0 time=1700000000000", "second"}
	if diff := cmp.Diff(wantOut, out); diff != "" {
		t.Errorf("outputs (-want +got):\n%s", diff)
	}
	wantOps := []string{"put last ops", "incr seen 2", "publish audit audited", "delete old"}
	if diff := cmp.Diff(wantOps, ops); diff != "" {
		t.Errorf("operations (-want +got):\n%s", diff)
	}
}

func TestCallErrors(t *testing.T) {
	r, _ := startGoChild(t, Options{})
	tests := []struct {
		payload string
		want    string
		bad     bool
	}{
		{"fail", "function testfn: cannot do it", false},
		{"bad", "bad input: function testfn: not a number", true},
		{"panic", "function testfn: function panicked: oh no", false},
	}
	for _, tt := range tests {
		out, _, err := call(r, tt.payload)
		if err == nil || err.Error() != tt.want || errors.Is(err, errBad) != tt.bad || out != nil {
			t.Errorf("%s: outputs %q, error %v; want none and %q (bad input: %v)", tt.payload, out, err, tt.want, tt.bad)
		}
	}
	if out, _, err := call(r, "still here"); err != nil || !slices.Equal(out, []string{"STILL HERE"}) {
		t.Errorf("after the errors: %q, %v", out, err)
	}
}

// TestPipelining sends many calls at once from many goroutines: each gets
// its own answer.
func TestPipelining(t *testing.T) {
	r, _ := startGoChild(t, Options{Window: 4})
	var wg sync.WaitGroup
	errs := make(chan error, 200)
	for i := range 200 {
		wg.Go(func() {
			p := fmt.Sprintf("message %d", i)
			out, _, err := call(r, p)
			if err != nil || !slices.Equal(out, []string{strings.ToUpper(p)}) {
				errs <- fmt.Errorf("%s: %q, %v", p, out, err)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestCrashedChildIsRestartedAndTheMessageSentAgain(t *testing.T) {
	r, logs := startGoChild(t, Options{})
	marker := filepath.Join(t.TempDir(), "crashed")
	out, _, err := call(r, "crash-once:"+marker)
	if err != nil || !slices.Equal(out, []string{"survived"}) {
		t.Fatalf("got %q, %v; want the message handled by the restarted child", out, err)
	}
	if !strings.Contains(logs.String(), "function stopped; restarting it") {
		t.Errorf("the restart is not in the log:\n%s", logs)
	}
}

func TestChildThatKeepsCrashingFailsTheCall(t *testing.T) {
	r, _ := startGoChild(t, Options{})
	_, _, err := call(r, "always-crash")
	if err == nil || !strings.Contains(err.Error(), "stopped twice while it held this message") {
		t.Fatalf("error = %v", err)
	}
	if out, _, err := call(r, "next"); err != nil || !slices.Equal(out, []string{"NEXT"}) {
		t.Errorf("the next message: %q, %v", out, err)
	}
}

func TestHungChildIsRestarted(t *testing.T) {
	// The runtime's context carries the component's timeout.
	r, _ := startGoChild(t, Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	_, _, err := callCtx(ctx, r, "hang")
	if err == nil || !strings.Contains(err.Error(), "did not answer within") {
		t.Fatalf("error = %v", err)
	}
	if out, _, err := call(r, "next"); err != nil || !slices.Equal(out, []string{"NEXT"}) {
		t.Errorf("the next message: %q, %v", out, err)
	}
}

func TestWindowBoundsCallsInFlight(t *testing.T) {
	// A call hangs the child; with a window of one, a second call cannot
	// even be sent, and fails waiting for a slot.
	r, logs := startGoChild(t, Options{Window: 1, Timeout: 2 * time.Second})
	var wg sync.WaitGroup
	wg.Go(func() { call(r, "hang") })
	waitFor(t, func() bool { return strings.Contains(logs.String(), "hanging") })
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, _, err := callCtx(ctx, r, "second")
	if err == nil || !strings.Contains(err.Error(), "waiting for a free slot") {
		t.Errorf("second call: %v, want it to wait for a slot", err)
	}
	wg.Wait()
}

func TestGarbageOnStandardOutput(t *testing.T) {
	r, _ := startGoChild(t, Options{})
	_, _, err := call(r, "garbage")
	if err == nil || !strings.Contains(err.Error(), "not a result to its standard output (logs belong on standard error)") {
		t.Fatalf("error = %v", err)
	}
}

func TestStandardErrorGoesToTheLog(t *testing.T) {
	r, logs := startGoChild(t, Options{})
	if _, _, err := call(r, "log"); err != nil {
		t.Fatal(err)
	}
	r.Close() // the log line is written by the time the child is gone
	if !strings.Contains(logs.String(), `msg="a line for the log" stream=stderr`) {
		t.Errorf("log:\n%s", logs)
	}
}

func TestMissingProgram(t *testing.T) {
	_, err := New(context.Background(), Options{Name: "f", Start: Command([]string{"./no-such-program"}, nil, "", slog.Default())})
	if err == nil || !strings.Contains(err.Error(), "starting function f") || !strings.Contains(err.Error(), "check the path in exec(...)") {
		t.Errorf("error = %v", err)
	}
}

func TestCallAfterClose(t *testing.T) {
	r, _ := startGoChild(t, Options{})
	r.Close()
	if _, _, err := call(r, "x"); !errors.Is(err, ErrClosed) {
		t.Errorf("error = %v, want ErrClosed", err)
	}
}

// waitFor waits until cond holds, failing the test after a long while.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); !cond(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in 20s")
		}
	}
}

// TestPythonHelper runs the Python helper with the same calls as the Go
// child: both sides of the framing agree.
func TestPythonHelper(t *testing.T) {
	python, err := exec.LookPath("python3")
	if err != nil {
		t.Fatalf("python3 is needed for the Python helper's test: %v", err)
	}
	logs := &syncbuf.Buffer{}
	log := slog.New(slog.NewTextHandler(logs, nil))
	env := []string{"PYTHONPATH=python", `MESHC_FUNCTION_CONFIG={"greeting":"hi"}`}
	r, err := New(context.Background(), Options{Name: "py", Start: Command([]string{python, "testdata/ops.py"}, env, "", log),
		Logger: log, BadInput: errBad})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	out, ops, err := call(r, "ops")
	if err != nil {
		t.Fatal(err)
	}
	wantOut := []string{"key=k1 props=map[trace:t1] topic=persistent://public/default/in id=1:2:0 time=1700000000000", "second"}
	if diff := cmp.Diff(wantOut, out); diff != "" {
		t.Errorf("outputs (-want +got):\n%s", diff)
	}
	wantOps := []string{"put last ops", "incr seen 2", "publish audit audited", "delete old"}
	if diff := cmp.Diff(wantOps, ops); diff != "" {
		t.Errorf("operations (-want +got):\n%s", diff)
	}
	for _, tt := range []struct{ payload, out, err string }{
		{"fail", "", "function py: ValueError: cannot do it"},
		{"bad", "", "bad input: function py: not a number"},
		{"config", `{"greeting":"hi"}`, ""},
		{"log", "", ""},
		{"abc", "ABC", ""},
	} {
		out, _, err := call(r, tt.payload)
		want := tt.err
		if want == "" {
			want = "<nil>"
		}
		if fmt.Sprint(err) != want || strings.Join(out, "") != tt.out {
			t.Errorf("%s: %q, %v; want %q, %s", tt.payload, out, err, tt.out, want)
		}
	}
	r.Close()
	if !strings.Contains(logs.String(), `msg="a line for the log" stream=stderr`) {
		t.Errorf("print() did not reach the log:\n%s", logs)
	}
}

// TestStartedCallsFinishInOrder: calls started ahead each get their own
// result, whatever the others do, and a call started after Close fails.
func TestStartedCallsFinishInOrder(t *testing.T) {
	r, _ := startGoChild(t, Options{Window: 4})
	payloads := []string{"a", "fail", "b", "bad", "c", "d", "e", "f"}
	var calls []*Pending
	for _, p := range payloads {
		calls = append(calls, r.Start(&fakeMsg{Context: context.Background(), payload: p}, []byte(p)))
	}
	var got []string
	for i, c := range calls {
		err := c.Finish(&fakeMsg{Context: context.Background()}, func(b []byte) error {
			got = append(got, string(b))
			return nil
		})
		if err != nil {
			got = append(got, payloads[i]+": error")
		}
	}
	want := []string{"A", "fail: error", "B", "bad: error", "C", "D", "E", "F"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	r.Close()
	err := r.Start(&fakeMsg{Context: context.Background()}, []byte("x")).Finish(&fakeMsg{Context: context.Background()}, func([]byte) error { return nil })
	if !errors.Is(err, ErrClosed) {
		t.Errorf("after Close: %v, want %v", err, ErrClosed)
	}
}

// TestStateQueries: a child reads state while it handles a call, seeing
// its own changes first, in Go and in Python alike.
func TestStateQueries(t *testing.T) {
	python, err := exec.LookPath("python3")
	if err != nil {
		t.Fatalf("python3 is needed for the Python helper's test: %v", err)
	}
	goChild, _ := startGoChild(t, Options{})
	log := slog.New(slog.DiscardHandler)
	pyChild, err := New(context.Background(), Options{Name: "testfn", BadInput: errBad, Logger: log,
		Start: Command([]string{python, "testdata/ops.py"}, []string{"PYTHONPATH=python"}, "", log)})
	if err != nil {
		t.Fatal(err)
	}
	defer pyChild.Close()
	for name, r := range map[string]*Runner{"go": goChild, "python": pyChild} {
		t.Run(name, func(t *testing.T) {
			state := &fakeState{values: map[string][]byte{"k": []byte("v")}, counters: map[string]int64{"n": 40}}
			out, ops, err := callState(r, "read", state)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff([]string{"mine=x k=v(true) n=42"}, out); diff != "" {
				t.Errorf("outputs (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff([]string{"put mine x", "incr n 2"}, ops); diff != "" {
				t.Errorf("operations (-want +got):\n%s", diff)
			}
			_, _, err = callState(r, "read", nil)
			if err == nil || !strings.Contains(err.Error(), "has no state") {
				t.Errorf("without state: %v", err)
			}
			if out, _, err := call(r, "abc"); err != nil || !slices.Equal(out, []string{"ABC"}) {
				t.Errorf("the call after: %q, %v", out, err)
			}
		})
	}
}

func callState(r *Runner, payload string, state *fakeState) ([]string, []string, error) {
	m := &fakeMsg{Context: context.Background(), payload: payload, state: state}
	var out []string
	err := r.Call(m, []byte(payload), func(b []byte) error {
		out = append(out, string(b))
		return nil
	})
	return out, m.ops, err
}

// TestLookup: what a query gets for each shape of query.
func TestLookup(t *testing.T) {
	state := &fakeState{values: map[string][]byte{"k": []byte("v")}, counters: map[string]int64{"n": 3}}
	call := &inflight{msg: &fakeMsg{Context: context.Background(), state: state}}
	query := func(fields ...frame.Field) *frame.Frame {
		return &frame.Frame{Kind: frame.Query, ID: 1, Fields: fields}
	}
	for _, tt := range []struct {
		name string
		call *inflight
		q    *frame.Frame
		want []frame.Field
	}{
		{"state", call, query(frame.Field{Tag: frame.GetState, Value: []byte("k")}), []frame.Field{{Tag: frame.Value, Value: []byte("v")}}},
		{"state not set", call, query(frame.Field{Tag: frame.GetState, Value: []byte("x")}), nil},
		{"counter", call, query(frame.Field{Tag: frame.GetCounter, Value: []byte("n")}), []frame.Field{{Tag: frame.Counter, Value: frame.IntValue(3)}}},
		{"unknown tag skipped", call, query(frame.Field{Tag: 99}, frame.Field{Tag: frame.GetCounter, Value: []byte("n")}),
			[]frame.Field{{Tag: frame.Counter, Value: frame.IntValue(3)}}},
		{"nothing asked", call, query(), failed("a query holds a get_state or a get_counter field, and this one has neither")},
		{"no such call", nil, query(frame.Field{Tag: frame.GetState, Value: []byte("k")}),
			failed("no call 1 is in flight: a query carries the id of the call it is made for")},
		{"no state", &inflight{msg: &fakeMsg{Context: context.Background()}}, query(frame.Field{Tag: frame.GetCounter, Value: []byte("n")}),
			failed("function testfn has no state: set state = true in the mesh")},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, lookup(tt.call, tt.q)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}
