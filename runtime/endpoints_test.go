package runtime

import (
	"context"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/meshc/meshc/planner/plan"
)

// TestEndpoints: /healthz while the process runs, /readyz while it takes
// messages, /metrics in Prometheus text with the names of Pulsar Functions.
func TestEndpoints(t *testing.T) {
	b := startBroker(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	f := function("up", "upper", topic("in"), topic("out"), str, str)
	pi := &plan.Instance{APIVersion: plan.APIVersion, Mesh: plan.Mesh{Tenant: "public", Namespace: "default"}, Component: f}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, Options{Plan: pi, PulsarURL: b.URL(), Registry: Builtins(), Logger: quietLog, Listen: addr})
	}()
	get := func(path string) (int, string) {
		deadline := time.Now().Add(20 * time.Second)
		for {
			resp, err := http.Get("http://" + addr + path)
			if err == nil {
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				return resp.StatusCode, string(body)
			}
			if time.Now().After(deadline) {
				t.Fatalf("GET %s: %v", path, err)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	if code, body := get("/healthz"); code != http.StatusOK {
		t.Errorf("/healthz: %d %s", code, body)
	}
	// Ready once subscribed, which may take a moment more.
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		code, body := get("/readyz")
		if code == http.StatusOK {
			break
		}
		if code != http.StatusServiceUnavailable || time.Now().After(deadline) {
			t.Fatalf("/readyz: %d %s", code, body)
		}
	}
	fams, err := scrapeMetrics(t, "http://"+addr)
	if err != nil {
		t.Fatal(err)
	}
	if got := value(fams, "pulsar_function_received_total"); got != 0 {
		t.Errorf("/metrics: pulsar_function_received_total = %g, want 0", got)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
