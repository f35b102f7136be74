package main

import (
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/apache/pulsar-client-go/pulsaradmin"
	"github.com/apache/pulsar-client-go/pulsaradmin/pkg/admin"
	"github.com/apache/pulsar-client-go/pulsaradmin/pkg/admin/config"
	"github.com/apache/pulsar-client-go/pulsaradmin/pkg/rest"
	"github.com/apache/pulsar-client-go/pulsaradmin/pkg/utils"

	"github.com/meshc/meshc/compiler"
	"github.com/meshc/meshc/lang"
	"github.com/meshc/meshc/planner"
	"github.com/meshc/meshc/runtime"
)

// TestBrokerFunctionsWorker runs `meshc broker --data` as a process and
// registers wordcount's split on its Functions worker with pulsaradmin, its
// package a script that runs `meshc instance`: the instance runs, and
// after a restart of the broker the function is back and runs again.
// With --functions-worker=false the worker API answers 503.
func TestBrokerFunctionsWorker(t *testing.T) {
	data := t.TempDir()
	pkg := filepath.Join(t.TempDir(), "split")
	if err := os.WriteFile(pkg, []byte("#!/bin/sh\nexec meshc instance \"$@\"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	fc := wordcountSplit(t)

	first := startBrokerProcess(t, "--data", data)
	fns := functionsAdmin(t, first.admin)
	if err := fns.CreateFunc(fc, pkg); err != nil {
		t.Fatalf("register: %v; stderr:\n%s", err, first.stderr)
	}
	waitRunning(t, fns, 1)
	first.stop(t, syscall.SIGTERM)

	second := startBrokerProcess(t, "--data", data)
	fns = functionsAdmin(t, second.admin)
	if names, err := fns.GetFunctions("public", "default"); err != nil || !slices.Equal(names, []string{"split"}) {
		t.Fatalf("functions after a restart: %v, %v", names, err)
	}
	waitRunning(t, fns, 1)
	second.stop(t, syscall.SIGINT)

	off := startBrokerProcess(t, "--functions-worker=false")
	_, err := functionsAdmin(t, off.admin).GetFunctions("public", "default")
	var re rest.Error
	if !errors.As(err, &re) || re.Code != http.StatusServiceUnavailable {
		t.Errorf("worker off: %v, want 503", err)
	}
}

func functionsAdmin(t *testing.T, url string) admin.Functions {
	t.Helper()
	a, err := pulsaradmin.NewClient(&pulsaradmin.Config{WebServiceURL: url, PulsarAPIVersion: config.V3})
	if err != nil {
		t.Fatal(err)
	}
	return a.Functions()
}

// wordcountSplit is a FunctionConfig of wordcount's split, one instance,
// its instance plan in the user configuration.
func wordcountSplit(t *testing.T) *utils.FunctionConfig {
	t.Helper()
	src, err := os.ReadFile("../../examples/wordcount.mesh")
	if err != nil {
		t.Fatal(err)
	}
	f, diags := lang.Parse("wordcount.mesh", src)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	m, diags := compiler.Compile([]*lang.File{f}, nil)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	p := planner.Plan(m, planner.Options{})
	for i := range p.Components {
		c := &p.Components[i]
		if c.Name != "split" {
			continue
		}
		in, err := json.Marshal(p.Instance(c, 0))
		if err != nil {
			t.Fatal(err)
		}
		return &utils.FunctionConfig{Tenant: "public", Namespace: "default", Name: "split", Parallelism: 1,
			Inputs: []string{c.Inputs[0].Topic}, Output: c.Output.Topic, SubName: c.Subscription.Name,
			UserConfig: map[string]any{runtime.UserConfigPlanKey: string(in)}}
	}
	t.Fatal("wordcount has no split")
	return nil
}

// waitRunning waits until split has n instances running.
func waitRunning(t *testing.T, fns admin.Functions, n int) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		st, err := fns.GetFunctionStatus("public", "default", "split")
		if err == nil && st.NumRunning == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("split not running after a minute: %+v, %v", st, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
