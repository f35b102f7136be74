package local

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/meshc/meshc/planner/plan"
)

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
