package meshtest

import (
	"encoding/json"
	"testing"
)

// TestSubset checks JSON subset matching: records on the fields named,
// lists whole, numbers by value.
func TestSubset(t *testing.T) {
	rec := map[string]any{"word": "a", "count": json.Number("2"), "tags": []any{"x"}}
	for _, tt := range []struct {
		name string
		want any
		got  any
		ok   bool
	}{
		{"fields named", map[string]any{"word": "a"}, rec, true},
		{"number by value", map[string]any{"count": json.Number("2.0")}, rec, true},
		{"other value", map[string]any{"count": json.Number("3")}, rec, false},
		{"missing field", map[string]any{"name": "a"}, rec, false},
		{"list whole", map[string]any{"tags": []any{"x"}}, rec, true},
		{"list longer", map[string]any{"tags": []any{"x", "y"}}, rec, false},
		{"record and text", map[string]any{"word": "a"}, "a", false},
		{"text", "a", "a", true},
		{"int and float", int64(1), 1.0, true},
		{"bool", true, false, false},
	} {
		if got := subset(tt.want, tt.got); got != tt.ok {
			t.Errorf("%s: subset = %v, want %v", tt.name, got, tt.ok)
		}
	}
}

// TestMatches checks keys, properties and dead-letter reasons.
func TestMatches(t *testing.T) {
	k, reason := "k", "not a number"
	g := received{Key: "k", Value: "x", Properties: map[string]string{"a": "1", ReasonProperty: `bad input: "x" is not a number`}}
	for _, tt := range []struct {
		name string
		want Message
		ok   bool
	}{
		{"value", Message{Value: "x"}, true},
		{"key", Message{Key: &k}, true},
		{"property", Message{Properties: map[string]string{"a": "1"}}, true},
		{"other property", Message{Properties: map[string]string{"a": "2"}}, false},
		{"reason in part", Message{Reason: &reason}, true},
		{"other value", Message{Value: "y", Key: &k}, false},
	} {
		if got := matches(&tt.want, g); got != tt.ok {
			t.Errorf("%s: matches = %v, want %v", tt.name, got, tt.ok)
		}
	}
}

// TestRender checks the one-line form of messages in diffs.
func TestRender(t *testing.T) {
	k, reason := "a&b", "bad <input>"
	got := render(map[string]any{"z": 1, "a": "x<y"}, &k, map[string]string{"p": "1"}, &reason)
	if want := `key="a&b" {"a":"x<y","z":1} p="1" reason="bad <input>"`; got != want {
		t.Errorf("render = %s, want %s", got, want)
	}
}
