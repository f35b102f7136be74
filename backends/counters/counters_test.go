package counters

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestRead reads counters as client_golang writes them, labels,
// help, exponents and the user metric's summary among them.
func TestRead(t *testing.T) {
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
	got, err := Read(strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	want := Counters{Received: 42, Processed: 40, DeadLettered: 2, BadInput: 2, LastInvocation: 1796582429243,
		LatencySumMs: 61.5, LatencyCount: 42}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if _, err := Read(strings.NewReader("broken{a=")); err == nil {
		t.Error("a broken text read without an error")
	}
}
