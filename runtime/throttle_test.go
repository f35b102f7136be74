package runtime

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/meshc/meshc/internal/syncbuf"
	"github.com/meshc/meshc/planner/plan"
)

// TestThrottleBoundsAFlood logs a thousand lines of one kind at once: one
// is written, and flush writes the last with the count of the others.
func TestThrottleBoundsAFlood(t *testing.T) {
	var buf syncbuf.Buffer
	l := slog.New(slog.NewTextHandler(&buf, nil))
	var th throttle
	for i := range 1000 {
		th.log(l, slog.LevelWarn, "dead-lettering message", "n", i)
	}
	th.log(l, slog.LevelInfo, "another kind")
	th.flush(l)
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 3 {
		t.Fatalf("%d lines, want 3:\n%s", len(lines), buf.String())
	}
	for i, want := range []string{"n=0", "another kind", `n=999 "more like it before this"=998`} {
		if !strings.Contains(lines[i], want) {
			t.Errorf("line %d = %q, want %q in it", i, lines[i], want)
		}
	}
}

// TestBadInputFlood sends 300 payloads that do not decode: each is
// dead-lettered and counted as bad input, not as a failure of the runtime,
// and the log says so in a couple of lines with counts, not 300.
func TestBadInputFlood(t *testing.T) {
	b := startBroker(t)
	c := client(t, b)
	in, dlq := topic("flood"), topic("flood-dlq")
	f := function("flood", "identity", in, topic("flood-out"), orderSchema, orderSchema)
	f.DeadLetterTopic = dlq
	bad := make([]string, 300)
	for i := range bad {
		bad[i] = fmt.Sprintf("not json %d", i)
	}
	produce(t, c, in, bad...)
	var logs syncbuf.Buffer
	metricsFile := filepath.Join(t.TempDir(), "final.prom")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	pi := &plan.Instance{APIVersion: plan.APIVersion, Mesh: plan.Mesh{Tenant: "public", Namespace: "default"}, Component: f}
	go func() {
		done <- Run(ctx, Options{Plan: pi, PulsarURL: b.URL(), Registry: Builtins(),
			Logger: slog.New(slog.NewTextHandler(&logs, nil)), MetricsFile: metricsFile})
	}()
	collect(t, c, dlq, len(bad))
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(logs.String(), "dead-lettering message"); n < 1 || n > 3 {
		t.Errorf("%d dead-lettering lines for %d bad payloads, want 1 to 3:\n%s", n, len(bad), logs.String())
	}
	if !strings.Contains(logs.String(), `"more like it before this"=`) {
		t.Errorf("no count of the lines left out:\n%s", logs.String())
	}
	data, err := os.ReadFile(metricsFile)
	if err != nil {
		t.Fatalf("final metrics: %v", err)
	}
	for _, want := range []string{BadInputMetric + "{", "} 300\n"} {
		if !strings.Contains(string(data), want) {
			t.Errorf("final metrics lack %q:\n%s", want, data)
		}
	}
	if strings.Contains(string(data), "pulsar_function_system_exceptions_total{cluster") &&
		!regexp.MustCompile(`pulsar_function_system_exceptions_total\{[^}]*\} 0\n`).Match(data) {
		t.Errorf("bad input counted as system errors:\n%s", data)
	}
}
