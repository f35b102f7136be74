package runtime

import (
	"testing"

	"github.com/apache/pulsar-client-go/pulsar"
)

// TestEntries: taken messages leave their entry open until its last one,
// per partition, whether or not the topic changes between messages.
func TestEntries(t *testing.T) {
	other := func(m pulsar.Message) pulsar.Message {
		return idMessage{topic: "other", id: m.ID()}
	}
	for _, tc := range []struct {
		name  string
		msgs  []pulsar.Message
		open  bool
		inIn  bool
		inOut bool
	}{
		{"nothing", nil, false, false, false},
		{"a batch begun", []pulsar.Message{entryMessage(1, 0, 3), entryMessage(1, 1, 3)}, true, true, false},
		{"a batch ended", []pulsar.Message{entryMessage(1, 0, 2), entryMessage(1, 1, 2)}, false, false, false},
		{"unbatched", []pulsar.Message{entryMessage(1, 0, 0), entryMessage(2, 0, 0)}, false, false, false},
		{"two partitions, one ended", []pulsar.Message{entryMessage(1, 0, 2), other(entryMessage(1, 0, 2)), entryMessage(1, 1, 2)}, true, false, true},
		{"two partitions, both ended", []pulsar.Message{entryMessage(1, 0, 2), other(entryMessage(1, 0, 2)), entryMessage(1, 1, 2), other(entryMessage(1, 1, 2))}, false, false, false},
	} {
		e := newEntries()
		for _, m := range tc.msgs {
			e.take(m)
		}
		if e.open() != tc.open || e.in(entryMessage(9, 0, 0)) != tc.inIn || e.in(other(entryMessage(9, 0, 0))) != tc.inOut {
			t.Errorf("%s: open %v, in %v, other %v; want %v, %v, %v", tc.name, e.open(), e.in(entryMessage(9, 0, 0)),
				e.in(other(entryMessage(9, 0, 0))), tc.open, tc.inIn, tc.inOut)
		}
	}
}
