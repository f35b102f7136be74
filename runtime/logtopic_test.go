package runtime

import (
	"strings"
	"testing"

	"github.com/meshc/meshc/planner/plan"
)

// TestLogTopic: what a function logs also reaches its log topic, a line a
// message.
func TestLogTopic(t *testing.T) {
	b := startBroker(t)
	c := client(t, b)
	in, out, logs := topic("in"), topic("out"), topic("logs")
	f := function("chatty", "", in, out, str, str)
	f.Implementation = plan.Implementation{Kind: "go", Name: "Chatty"}
	f.LogTopic = logs
	reg := Builtins().Func("Chatty", func(ctx Context, in Input, emit Emit) error {
		ctx.Logger().Info("saw a message", "value", in.Value)
		return emit(in.Value)
	})
	produce(t, c, in, "one", "two")
	runInstance(t, b, f, reg)
	got := payloads(collect(t, c, logs, 2))
	for i, want := range []string{"value=one", "value=two"} {
		if !strings.Contains(got[i], `msg="saw a message"`) || !strings.Contains(got[i], want) {
			t.Errorf("log line %d = %q, want the message and %s", i, got[i], want)
		}
	}
}
