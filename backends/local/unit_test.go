package local

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/meshc/meshc/planner/plan"
)

// TestReadCounters reads counters as client_golang writes them, labels,
// help, exponents and the user metric's summary among them.
func TestReadCounters(t *testing.T) {
	text := `# HELP pulsar_function_received_total Messages received.
# TYPE pulsar_function_received_total counter
pulsar_function_received_total{name="f",tenant="public"} 42
# TYPE pulsar_function_processed_successfully_total counter
pulsar_function_processed_successfully_total{name="f"} 40
# TYPE pulsar_function_dead_lettered_total counter
pulsar_function_dead_lettered_total{name="f"} 2
# TYPE meshc_function_bad_input_total counter
meshc_function_bad_input_total{name="f"} 2
# TYPE pulsar_function_last_invocation gauge
pulsar_function_last_invocation{name="f"} 1.796582429243e+12
# TYPE pulsar_function_process_latency_ms summary
pulsar_function_process_latency_ms{name="f",quantile="0.5"} 1
pulsar_function_process_latency_ms_sum{name="f"} 61.5
pulsar_function_process_latency_ms_count{name="f"} 42
# TYPE pulsar_function_user_metric_ summary
pulsar_function_user_metric__sum{metric="m",name="f"} 3
pulsar_function_user_metric__count{metric="m",name="f"} 1
`
	got, err := readCounters(strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	want := Counters{Received: 42, Processed: 40, DeadLettered: 2, BadInput: 2, LastInvocation: 1796582429243,
		LatencySumMs: 61.5, LatencyCount: 42}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if _, err := readCounters(strings.NewReader("broken{a=")); err == nil {
		t.Error("a broken text read without an error")
	}
}

func TestResolve(t *testing.T) {
	dir := t.TempDir()
	custom := filepath.Join(dir, "shoprt")
	if err := os.WriteFile(custom, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	fallback := []string{"/usr/bin/meshc", "instance"}
	tests := []struct {
		rt   plan.Runtime
		want []string
		err  string
	}{
		{rt: plan.Runtime{Binary: custom, Args: []string{"-v"}}, want: []string{custom, "-v"}},
		{rt: plan.Runtime{}, want: fallback},
		{rt: plan.Runtime{Binary: "meshrt"}, want: fallback},
		{rt: plan.Runtime{Binary: filepath.Join(dir, "absent")}, err: "no such file"},
		{rt: plan.Runtime{Binary: "no-such-runtime-binary"}, err: `no instance binary "no-such-runtime-binary"`},
	}
	for _, tt := range tests {
		got, err := Resolve(tt.rt, fallback)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("Resolve(%+v) error = %v, want one with %q", tt.rt, err, tt.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("Resolve(%+v): %v", tt.rt, err)
			continue
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("Resolve(%+v) (-want +got):\n%s", tt.rt, diff)
		}
	}
}

func TestRegisterAndFind(t *testing.T) {
	t.Setenv("MESHC_RUN_DIR", t.TempDir())
	if _, err := Find(""); err == nil || !strings.Contains(err.Error(), "no local mesh is running") {
		t.Fatalf("Find with nothing running: %v", err)
	}
	a := RunInfo{Mesh: "a", Addr: "127.0.0.1:1", PID: os.Getpid()}
	remove, err := Register(a)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := Find(""); err != nil || got != a {
		t.Errorf("Find(\"\") = %+v, %v; want %+v", got, err, a)
	}
	if _, err := Register(RunInfo{Mesh: "a", PID: os.Getppid()}); err == nil || !strings.Contains(err.Error(), "mesh a already runs here") {
		t.Errorf("registering a second mesh a: %v", err)
	}
	removeB, err := Register(RunInfo{Mesh: "b", Addr: "127.0.0.1:2", PID: os.Getpid()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Find(""); err == nil || !strings.Contains(err.Error(), "several local meshes are running (a, b)") {
		t.Errorf("Find with two running: %v", err)
	}
	removeB()
	remove()
	if _, err := Find("a"); err == nil || !strings.Contains(err.Error(), "no local mesh a is running") {
		t.Errorf("Find(a) after remove: %v", err)
	}
}
