package runtime

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// memContext is a Context over plain maps, for testing functions alone.
type memContext struct {
	context.Context
	config    map[string]any
	counters  map[string]int64
	state     map[string][]byte
	published map[string][]any
}

func newMemContext(config map[string]any) *memContext {
	return &memContext{Context: context.Background(), config: config, counters: map[string]int64{},
		state: map[string][]byte{}, published: map[string][]any{}}
}

func (c *memContext) InputTopic() string                 { return "in" }
func (c *memContext) MessageID() string                  { return "1:0" }
func (c *memContext) Key() string                        { return "" }
func (c *memContext) Properties() map[string]string      { return nil }
func (c *memContext) EventTime() time.Time               { return time.Time{} }
func (c *memContext) Name() string                       { return "f" }
func (c *memContext) Tenant() string                     { return "public" }
func (c *memContext) Namespace() string                  { return "default" }
func (c *memContext) InstanceIndex() int                 { return 0 }
func (c *memContext) UserConfig() map[string]any         { return c.config }
func (c *memContext) Secret(string) (string, bool)       { return "", false }
func (c *memContext) Logger() *slog.Logger               { return slog.New(slog.DiscardHandler) }
func (c *memContext) RecordMetric(string, float64)       {}
func (c *memContext) GetCounter(k string) (int64, error) { return c.counters[k], nil }
func (c *memContext) IncrCounter(k string, by int64) (int64, error) {
	c.counters[k] += by
	return c.counters[k], nil
}
func (c *memContext) PutState(k string, v []byte) error { c.state[k] = v; return nil }
func (c *memContext) GetState(k string) ([]byte, bool, error) {
	v, ok := c.state[k]
	return v, ok, nil
}
func (c *memContext) DeleteState(k string) error { delete(c.state, k); return nil }
func (c *memContext) Publish(topic string, v any) error {
	c.published[topic] = append(c.published[topic], v)
	return nil
}

// run calls a built-in on each input and collects what it emits.
func run(t *testing.T, name string, ctx *memContext, inputs ...any) []any {
	t.Helper()
	f, err := Builtins().lookupFunc(name)
	if err != nil {
		t.Fatal(err)
	}
	var out []any
	for _, in := range inputs {
		payload, _ := json.Marshal(in)
		if s, ok := in.(string); ok {
			payload = []byte(s)
		}
		err := f(ctx, Input{Payload: payload, Value: in}, func(v any) error { out = append(out, v); return nil })
		if err != nil {
			t.Fatalf("%s(%v): %v", name, in, err)
		}
	}
	return out
}

// word is a word split_words emits: keyed by itself.
func word(w string) Keyed { return Keyed{Key: w, Value: w} }

func obj(kv ...any) map[string]any {
	m := map[string]any{}
	for i := 0; i < len(kv); i += 2 {
		m[kv[i].(string)] = kv[i+1]
	}
	return m
}

func TestBuiltins(t *testing.T) {
	for _, tc := range []struct {
		name   string
		config map[string]any
		in     []any
		want   []any
	}{
		{"identity", nil, []any{"a", int64(2)}, []any{"a", int64(2)}},
		{"exclamation", nil, []any{"hi"}, []any{"hi!"}},
		{"upper", nil, []any{"héllo"}, []any{"HÉLLO"}},
		{"split_words", nil, []any{"The quick, brown fox's den!"}, []any{word("the"), word("quick"), word("brown"), word("fox's"), word("den")}},
		{"word_count", nil, []any{"a", "b", "a"}, []any{obj("word", "a", "count", int64(1)), obj("word", "b", "count", int64(1)), obj("word", "a", "count", int64(2))}},
		{"filter", obj("where", `amount > 10 and country == "FR"`),
			[]any{obj("amount", json.Number("5"), "country", "FR"), obj("amount", json.Number("50"), "country", "FR"), obj("amount", json.Number("50"))},
			[]any{obj("amount", json.Number("50"), "country", "FR")}},
		{"project", obj("fields", []any{"id", "user.name"}),
			[]any{obj("id", "1", "secret", "x", "user", obj("name", "ann"))},
			[]any{obj("id", "1", "user.name", "ann")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := run(t, tc.name, newMemContext(tc.config), tc.in...)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestRoute(t *testing.T) {
	ctx := newMemContext(obj("field", "level", "routes", obj("high", "alerts", "low", "quiet")))
	rest := run(t, "route", ctx, obj("level", "high"), obj("level", "low"), obj("level", "mid"))
	want := map[string][]any{"alerts": {obj("level", "high")}, "quiet": {obj("level", "low")}}
	if diff := cmp.Diff(want, ctx.published); diff != "" {
		t.Errorf("published (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]any{obj("level", "mid")}, rest); diff != "" {
		t.Errorf("output (-want +got):\n%s", diff)
	}
}

func TestWhereErrors(t *testing.T) {
	for _, text := range []string{"amount", "amount ~ 3", "a == 'x'", `a == "x`, "a > ten"} {
		if _, err := parseWhere(text); err == nil {
			t.Errorf("parseWhere(%q): want an error", text)
		}
	}
}

func TestTypedAdapters(t *testing.T) {
	type order struct {
		ID     string  `json:"id"`
		Amount float64 `json:"amount"`
	}
	f := Typed(func(_ Context, o order) (order, error) { o.Amount *= 2; return o, nil })
	var got []any
	err := f(newMemContext(nil), Input{Payload: []byte(`{"id":"a","amount":2}`), Value: obj("id", "a")}, func(v any) error {
		got = append(got, v)
		return nil
	})
	if err != nil || !cmp.Equal(got, []any{order{"a", 4}}) {
		t.Errorf("got %v, %v", got, err)
	}
	err = f(newMemContext(nil), Input{Payload: []byte(`not json`)}, func(any) error { return nil })
	if err == nil {
		t.Error("a payload that is not an order should be an ErrBadInput")
	}
}

func TestDuplicateRegistrationPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("want a panic")
		}
	}()
	NewRegistry().Func("a", nil).Func("a", nil)
}

type memSourceContext struct {
	context.Context
	config map[string]any
}

func (c memSourceContext) Name() string                 { return "gen" }
func (c memSourceContext) InstanceIndex() int           { return 0 }
func (c memSourceContext) UserConfig() map[string]any   { return c.config }
func (c memSourceContext) Secret(string) (string, bool) { return "", false }
func (c memSourceContext) Logger() *slog.Logger         { return slog.New(slog.DiscardHandler) }

func TestGenerator(t *testing.T) {
	src, err := Builtins().lookupSource("generator")
	if err != nil {
		t.Fatal(err)
	}
	var got []any
	ctx := memSourceContext{context.Background(), obj("lines", []any{"a", "b"}, "count", int64(3))}
	if err := src(ctx, func(_ string, v any, _ map[string]string) error { got = append(got, v); return nil }); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]any{"a", "b", "a"}, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if err := src(memSourceContext{context.Background(), nil}, nil); err == nil {
		t.Error("a generator without lines should fail")
	}
}

func TestParseJSON(t *testing.T) {
	f, _ := Builtins().lookupFunc("parse_json")
	for _, tc := range []struct {
		line string
		key  string
		want any
		bad  string // in the error, which must be ErrBadInput
	}{
		{line: `{"id":"a","amount":2}`, want: obj("id", "a", "amount", json.Number("2"))},
		{line: `{"id":"a","amount":2}`, key: "id", want: Keyed{Key: "a", Value: obj("id", "a", "amount", json.Number("2"))}},
		{line: ` [1, 2] `, want: []any{json.Number("1"), json.Number("2")}},
		{line: `not json`, bad: "not a line of JSON"},
		{line: ``, bad: "not a line of JSON"},
		{line: `{"a":1} {"b":2}`, bad: "more follows the first value"},
		{line: `{"amount":2}`, key: "id", bad: "the record has no field id to key it by"},
	} {
		var got []any
		ctx := newMemContext(map[string]any{"key": tc.key})
		err := f(ctx, Input{Payload: []byte(tc.line), Value: tc.line}, func(v any) error { got = append(got, v); return nil })
		switch {
		case tc.bad != "":
			if !errors.Is(err, ErrBadInput) || !strings.Contains(err.Error(), tc.bad) {
				t.Errorf("%q: error %v, want bad input saying %q", tc.line, err, tc.bad)
			}
		case err != nil:
			t.Errorf("%q: %v", tc.line, err)
		default:
			if diff := cmp.Diff([]any{tc.want}, got); diff != "" {
				t.Errorf("%q (-want +got):\n%s", tc.line, diff)
			}
		}
	}
}
