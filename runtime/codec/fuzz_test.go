package codec

import (
	"errors"
	"testing"

	"github.com/meshc/meshc/planner/plan"
)

// FuzzSchema reads schema definitions, as plans carry them, and payloads
// against them: a definition is refused with an error or read, and a
// payload is refused with ErrPayload or decoded, never a panic or a hang.
func FuzzSchema(f *testing.F) {
	f.Add(countDef, []byte(`{"word":"a","count":1,"tags":null,"where":{"city":"b"}}`))
	f.Add(`{"type":"record","name":"L","fields":[{"name":"next","type":["null","L"]}]}`, []byte(`{"next":{"next":null}}`))
	f.Add(`["null","string",{"type":"map","values":"long"}]`, []byte(`{"a":1}`))
	f.Add(`{"type":"enum","name":"E","symbols":["A","B"]}`, []byte(`"A"`))
	f.Fuzz(func(t *testing.T, def string, payload []byte) {
		c, err := New(plan.Schema{Type: "json", Definition: def})
		if err != nil {
			return
		}
		if _, err := c.Decode(payload); err != nil && !errors.Is(err, ErrPayload) {
			t.Fatalf("decode error without ErrPayload: %v", err)
		}
	})
}
