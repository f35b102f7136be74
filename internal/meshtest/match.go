package meshtest

import (
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"

	"github.com/google/go-cmp/cmp"

	"github.com/meshc/meshc/lang"
	"github.com/meshc/meshc/runtime/codec"
)

// ReasonProperty is the property in which the runtime gives the reason a
// message was dead-lettered.
const ReasonProperty = "meshc-error"

// compare checks one topic's messages against an expectation and reports
// a difference at the first expected message that is not met, or at the
// expectation when messages are missing or extra.
func (r *caseRun) compare(e *Expect, got []received) {
	var want, have []string
	var bad *lang.Pos
	note := func(m *Message) {
		if bad != nil {
			return
		}
		p := e.At.Start()
		if m != nil {
			p = m.Start()
		}
		bad = &p
	}
	switch e.Order {
	case AnyOrder:
		want, have = r.anyOrder(e.Messages, got, note)
	case KeyOrder:
		want, have = keyOrder(e.Messages, got, note)
	default:
		want, have = inOrder(e.Messages, got, note)
	}
	if bad == nil && len(got) == len(e.Messages) {
		return
	}
	if bad == nil {
		start := e.At.Start()
		bad = &start
	}
	r.fail(*bad, cmp.Diff(want, have), "topic %s: %s (-want +got):", e.Topic.Name, summary(e, got))
}

func summary(e *Expect, got []received) string {
	order := map[Order]string{Exact: "in this order", AnyOrder: "in any order", KeyOrder: "in this order for each key"}[e.Order]
	return fmt.Sprintf("want %d messages %s, got %d", len(e.Messages), order, len(got))
}

// inOrder pairs expected and received messages by position.
func inOrder(ws []Message, got []received, note func(*Message)) (want, have []string) {
	for i := range max(len(ws), len(got)) {
		switch {
		case i >= len(ws):
			have = append(have, renderGot(got[i], nil))
			note(nil)
		case i >= len(got):
			want = append(want, renderWant(&ws[i]))
			note(&ws[i])
		default:
			want = append(want, renderWant(&ws[i]))
			have = append(have, renderGot(got[i], &ws[i]))
			if !matches(&ws[i], got[i]) {
				note(&ws[i])
			}
		}
	}
	return want, have
}

// anyOrder pairs each expected message with the first received one that
// meets it; what is left over is paired in order, for the diff.
func (r *caseRun) anyOrder(ws []Message, got []received, note func(*Message)) (want, have []string) {
	used := make([]bool, len(got))
	pair := make([]int, len(ws))
	for i := range ws {
		pair[i] = -1
		for j, g := range got {
			if !used[j] && matches(&ws[i], g) {
				pair[i], used[j] = j, true
				break
			}
		}
	}
	var rest []int
	for j := range got {
		if !used[j] {
			rest = append(rest, j)
		}
	}
	for i := range ws {
		want = append(want, renderWant(&ws[i]))
		switch {
		case pair[i] >= 0:
			have = append(have, renderGot(got[pair[i]], &ws[i]))
		case len(rest) > 0:
			have = append(have, renderGot(got[rest[0]], &ws[i]))
			rest = rest[1:]
			note(&ws[i])
		default:
			note(&ws[i])
		}
	}
	for _, j := range rest {
		have = append(have, renderGot(got[j], nil))
		note(nil)
	}
	return want, have
}

// keyOrder compares the messages of each key in order, keys in the order
// the case first names them, then the keys it does not name.
func keyOrder(ws []Message, got []received, note func(*Message)) (want, have []string) {
	var keys []string
	wantBy, gotBy := map[string][]Message{}, map[string][]received{}
	for _, m := range ws {
		if _, ok := wantBy[*m.Key]; !ok {
			keys = append(keys, *m.Key)
		}
		wantBy[*m.Key] = append(wantBy[*m.Key], m)
	}
	var extra []string
	for _, g := range got {
		if _, ok := wantBy[g.Key]; !ok && !slices.Contains(extra, g.Key) {
			extra = append(extra, g.Key)
		}
		gotBy[g.Key] = append(gotBy[g.Key], g)
	}
	slices.Sort(extra)
	for _, k := range append(keys, extra...) {
		w, h := inOrder(wantBy[k], gotBy[k], note)
		want, have = append(want, w...), append(have, h...)
	}
	return want, have
}

// matches tells whether a received message meets an expected one: its
// value (records on the fields named), key, properties and reason.
func matches(w *Message, g received) bool {
	if w.Value != nil && !subset(w.Value, g.Value) {
		return false
	}
	if w.Key != nil && *w.Key != g.Key {
		return false
	}
	for k, v := range w.Properties {
		if got, ok := g.Properties[k]; !ok || got != v {
			return false
		}
	}
	return w.Reason == nil || strings.Contains(g.Properties[ReasonProperty], *w.Reason)
}

// subset tells whether got holds want: every field of a record want
// names, with a value that holds want's; lists item by item; numbers by
// value.
func subset(want, got any) bool {
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return false
		}
		for k, wv := range w {
			gv, ok := g[k]
			if !ok || !subset(wv, gv) {
				return false
			}
		}
		return true
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			return false
		}
		for i := range w {
			if !subset(w[i], g[i]) {
				return false
			}
		}
		return true
	}
	if wf, ok := codec.AsFloat64(want); ok {
		gf, ok := codec.AsFloat64(got)
		return ok && wf == gf
	}
	return reflect.DeepEqual(want, got)
}

// project keeps of got what want names, so that a diff shows only what
// the case asked about.
func project(got, want any) any {
	w, ok := want.(map[string]any)
	g, gok := got.(map[string]any)
	if !ok || !gok {
		if subset(want, got) {
			return want
		}
		return got
	}
	out := map[string]any{}
	for k := range w {
		if gv, ok := g[k]; ok {
			out[k] = project(gv, w[k])
		}
	}
	return out
}

func renderWant(m *Message) string {
	return render(m.Value, m.Key, m.Properties, m.Reason)
}

// renderGot shows a received message with the parts its expected message
// names; all of it when there is none.
func renderGot(g received, w *Message) string {
	if w == nil {
		var key *string
		if g.Key != "" {
			key = &g.Key
		}
		return render(g.Value, key, nil, nil)
	}
	var value any
	if w.Value != nil {
		value = project(g.Value, w.Value)
	}
	var key *string
	if w.Key != nil {
		key = &g.Key
	}
	var props map[string]string
	if w.Properties != nil {
		props = map[string]string{}
		for k := range w.Properties {
			if v, ok := g.Properties[k]; ok {
				props[k] = v
			}
		}
	}
	var reason *string
	if w.Reason != nil {
		got := g.Properties[ReasonProperty]
		if strings.Contains(got, *w.Reason) {
			got = *w.Reason
		}
		reason = &got
	}
	return render(value, key, props, reason)
}

// render writes a message on one line: its value as JSON, then what else
// is asked about.
func render(value any, key *string, props map[string]string, reason *string) string {
	var parts []string
	if key != nil {
		parts = append(parts, "key="+quote(*key))
	}
	if value != nil {
		parts = append(parts, jsonText(value))
	}
	for _, k := range slices.Sorted(maps.Keys(props)) {
		parts = append(parts, k+"="+quote(props[k]))
	}
	if reason != nil {
		parts = append(parts, "reason="+quote(*reason))
	}
	return strings.Join(parts, " ")
}

func quote(s string) string { return jsonText(s) }

// jsonText writes v as compact JSON, keys sorted, < > & as they are.
func jsonText(v any) string {
	if b, ok := v.([]byte); ok {
		v = string(b)
	}
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return fmt.Sprint(v)
	}
	return strings.TrimSuffix(b.String(), "\n")
}
