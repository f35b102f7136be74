package runtime

import (
	"errors"
	"fmt"
	"testing"
)

// TestDeadLetterAfterStateChange: a function that changed its state and
// then failed is dead-lettered. Its message settles in the callback of the
// state write, where the dead-letter producer cannot be opened.
func TestDeadLetterAfterStateChange(t *testing.T) {
	b := startBroker(t)
	c := client(t, b)
	in := topic("st-in")
	f := function(fmt.Sprintf("failer%d", topicSeq.Add(1)), "failer", in, topic("st-out"), str, str)
	f.Implementation.Kind, f.State, f.MaxRetries = "go", true, 0
	reg := NewRegistry().Func("failer", func(ctx Context, _ Input, _ Emit) error {
		if _, err := ctx.IncrCounter("tries", 1); err != nil {
			return err
		}
		return errors.New("fails after counting")
	})
	produce(t, c, in, "a")
	runInstance(t, b, f, reg)
	if got := payloads(collect(t, c, in+"-"+f.Name+"-DLQ", 1)); got[0] != "a" {
		t.Errorf("dead letter = %q", got)
	}
}
