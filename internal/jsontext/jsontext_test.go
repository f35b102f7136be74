package jsontext

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var stringCases = []string{
	"", "plain", `a "quoted" word`, `back\slash`, "new\nline\r\ttab", "\b\f", "\x00\x01\x1f", "\x7f",
	"é", "\U0001F600", "\xff", "a\xc3", "\u2028\u2029", "<&>", "\ufeff", "\ufffd",
	// Longer than the eight bytes looked at at once, with what needs care
	// at each place of a word.
	"plain text of some length", "01234567\"", "0123456\\x", "012345\x1fxy", "01234<56789>abcdef&",
	"0123\x7f4567\xe9", "012345678\u2028abc", "abcdefghijklmnop\xff", "é0123456789", "0123456789ab\n",
	// What to escape only in the words looked at whole, not in the bytes after.
	"<&>01234567abcdef", "0123456789<>&abcdefg", "a\"b\\c\x01defghijklmno",
}

// reference is s as encoding/json writes it.
func reference(t testing.TB, v any, escapeHTML bool) string {
	t.Helper()
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(escapeHTML)
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	return string(bytes.TrimSuffix(b.Bytes(), []byte("\n")))
}

func checkString(t testing.TB, s string) {
	for _, html := range []bool{false, true} {
		want := reference(t, s, html)
		if got := string(AppendString(nil, s, html)); got != want {
			t.Errorf("AppendString(%q, %v) = %s, want %s", s, html, got, want)
		}
		w := &Writer{EscapeHTML: html}
		if w.String(s); string(w.B) != want {
			t.Errorf("Writer.String(%q) with EscapeHTML %v = %s, want %s", s, html, w.B, want)
		}
	}
}

func TestString(t *testing.T) {
	for _, s := range stringCases {
		checkString(t, s)
	}
}

func checkFloat(t testing.TB, f float64) {
	got, err := AppendFloat(nil, f)
	if _, wantErr := json.Marshal(f); (err != nil) != (wantErr != nil) {
		t.Fatalf("AppendFloat(%v) error %v, encoding/json's %v", f, err, wantErr)
	}
	if err == nil && string(got) != reference(t, f, false) {
		t.Errorf("AppendFloat(%v) = %s, want %s", f, got, reference(t, f, false))
	}
}

func TestFloat(t *testing.T) {
	for _, f := range []float64{0, math.Copysign(0, -1), 1, -1.5, 1e-7, 1.5e-7, 1e-6, 123456789, 1e20, 1e21, 1e-300,
		math.MaxFloat64, math.SmallestNonzeroFloat64, math.Inf(1), math.Inf(-1), math.NaN()} {
		checkFloat(t, f)
	}
}

// TestLayout writes a value by hand, indented and compact, and compares
// with encoding/json.
func TestLayout(t *testing.T) {
	v := map[string]any{"a": []any{}, "b": map[string]any{}, "c": []any{"x", map[string]any{"d": "<y>"}}, "e": -12, "f": true}
	for _, compact := range []bool{false, true} {
		w := &Writer{Compact: compact, EscapeHTML: true}
		w.Open('{')
		w.Key("a")
		w.Open('[')
		w.Close(']')
		w.Key("b")
		w.Open('{')
		w.Close('}')
		w.Key("c")
		w.Open('[')
		w.Item()
		w.String("x")
		w.Item()
		w.Open('{')
		w.Key("d")
		w.String("<y>")
		w.Close('}')
		w.Close(']')
		w.Key("e")
		w.Int(-12)
		w.Key("f")
		w.Bool(true)
		w.Close('}')
		want, err := json.Marshal(v)
		if !compact {
			want, err = json.MarshalIndent(v, "", "  ")
		}
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(string(want), string(w.B)); diff != "" {
			t.Errorf("compact %v (-encoding/json +Writer):\n%s", compact, diff)
		}
	}
}

// TestKeys writes keys plain and not (to escape, HTML, long, not ASCII)
// in objects nested to depths on both sides of the indent one append
// writes, in either layout, and compares with encoding/json; then again
// with the plain ones, those a caller may give Field, written by Field.
func TestKeys(t *testing.T) {
	for _, depth := range []int{0, 30, 33} {
		for _, compact := range []bool{false, true} {
			for _, html := range []bool{false, true} {
				for _, byField := range []bool{false, true} {
					name := fmt.Sprintf("depth %d, compact %v, html %v, by Field %v", depth, compact, html, byField)
					checkKeys(t, name, &Writer{Compact: compact, EscapeHTML: html}, depth, byField)
				}
			}
		}
	}
}

var (
	testKeys = []string{"k", "kind", "a_Key-1.x", `q"uote`, `back\slash`, "<html>&", "<&>01234567abcdef", "é", "\x01",
		strings.Repeat("long", 9), ""}
	fieldNames = map[string]bool{"k": true, "kind": true, "a_Key-1.x": true, strings.Repeat("long", 9): true, "": true}
)

// checkKeys writes testKeys with w in an object at depth and compares
// the text with encoding/json's.
func checkKeys(t *testing.T, name string, w *Writer, depth int, byField bool) {
	t.Helper()
	for range depth {
		w.Open('{')
		w.Key("n")
	}
	w.Open('{')
	var v any = map[string]any{}
	for i, k := range testKeys {
		if byField && fieldNames[k] {
			w.Field(k)
		} else {
			w.Key(k)
		}
		w.Int(int64(i))
		v.(map[string]any)[k] = float64(i)
	}
	w.Close('}')
	for range depth {
		w.Close('}')
		v = map[string]any{"n": v}
	}
	// encoding/json sorts keys; the Writer wrote them in order.
	var got any
	if err := json.Unmarshal(w.B, &got); err != nil {
		t.Fatalf("%s: %v\n%s", name, err, w.B)
	}
	if diff := cmp.Diff(v, got); diff != "" {
		t.Errorf("%s (-written +read back):\n%s", name, diff)
	}
	for _, k := range testKeys {
		if quoted := reference(t, k, w.EscapeHTML); !strings.Contains(string(w.B), quoted+":") {
			t.Errorf("%s: key %s not written as encoding/json writes it", name, quoted)
		}
	}
	if !w.Compact {
		// MarshalIndent with the keys in the Writer's order: the layout is
		// compared with a re-indent of the compact text.
		var want bytes.Buffer
		if err := json.Indent(&want, compactOf(t, w.B), "", "  "); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want.String(), string(w.B)); diff != "" {
			t.Errorf("%s (-json.Indent +Writer):\n%s", name, diff)
		}
	}
}

// compactOf is JSON text without its layout.
func compactOf(t *testing.T, b []byte) []byte {
	t.Helper()
	var out bytes.Buffer
	if err := json.Compact(&out, b); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// TestDeepLayout nests past the indent one append writes.
func TestDeepLayout(t *testing.T) {
	const depth = 40
	var v any = "leaf"
	w := &Writer{}
	for range depth {
		v = []any{v}
		w.Open('[')
		w.Item()
	}
	w.String("leaf")
	for range depth {
		w.Close(']')
	}
	want, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(want), string(w.B)); diff != "" {
		t.Errorf("(-encoding/json +Writer):\n%s", diff)
	}
}

// TestIndented moves text written at depth 0 to the depth of its place,
// and compares it with the text written there.
func TestIndented(t *testing.T) {
	values := []any{"x", []any{}, map[string]any{}, []any{"a\nb", map[string]any{"k": []any{1.0, "\n"}}},
		map[string]any{"a long key of some length": map[string]any{"b": "a long value of some length too"}}}
	for _, v := range values {
		for _, depth := range []int{0, 1, 2, 3, 4, 40} {
			inner := &Writer{}
			if err := inner.Any(v); err != nil {
				t.Fatal(err)
			}
			want := &Writer{B: []byte("prefix: "), Depth: depth}
			if err := want.Any(v); err != nil {
				t.Fatal(err)
			}
			got := AppendIndented([]byte("prefix: "), inner.B, depth)
			if diff := cmp.Diff(string(want.B), string(got)); diff != "" {
				t.Errorf("%v at depth %d (-written there +moved):\n%s", v, depth, diff)
			}
		}
	}
}

func FuzzString(f *testing.F) {
	for _, s := range stringCases {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) { checkString(t, s) })
}

func FuzzFloat(f *testing.F) {
	for _, v := range []float64{0, 1e-7, 1e21, 0.1} {
		f.Add(v)
	}
	f.Fuzz(func(t *testing.T, v float64) { checkFloat(t, v) })
}

// TestAny writes values of every kind Any knows, and some it leaves to
// encoding/json, nested, and compares with encoding/json.
func TestAny(t *testing.T) {
	v := map[string]any{
		"nil": nil, "s": "<a>", "t": true, "i": 3, "i64": int64(-4), "f": 1.5e-7,
		"m": map[string]any{"z": []any{1.0, "x", []any{}, map[string]any{}}, "a": map[string]any(nil)},
		"l": []any(nil), "struct": struct{ A []int }{[]int{1, 2}}, "strings": []string{"q"},
	}
	for _, compact := range []bool{false, true} {
		for _, html := range []bool{false, true} {
			w := &Writer{Compact: compact, EscapeHTML: html}
			if err := w.Any(v); err != nil {
				t.Fatal(err)
			}
			var b bytes.Buffer
			enc := json.NewEncoder(&b)
			enc.SetEscapeHTML(html)
			if !compact {
				enc.SetIndent("", "  ")
			}
			if err := enc.Encode(v); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(strings.TrimSuffix(b.String(), "\n"), string(w.B)); diff != "" {
				t.Errorf("compact %v, html %v (-encoding/json +Any):\n%s", compact, html, diff)
			}
		}
	}
	if err := (&Writer{}).Any(map[string]any{"x": math.NaN()}); err == nil {
		t.Error("Any of NaN: no error")
	}
}

// TestMemo: a Writer that keeps the text of long strings writes what one
// without a memo writes, the strings repeated, with and without HTML
// escaping, and past the most the memo keeps.
func TestMemo(t *testing.T) {
	long := `{"type":"record","name":"Event","fields":[{"name":"id","type":"string"},{"name":"note","type":"<b>&amp;</b>"},{"name":"tags","type":{"type":"array","items":"string"}}]} é ` + "\u2028"
	var strs []string
	for i := range memoMax + 10 {
		strs = append(strs, long, fmt.Sprintf("%s %d", long, i), "short")
	}
	for _, html := range []bool{false, true} {
		plain, memo := Writer{EscapeHTML: html}, Writer{EscapeHTML: html, Memo: &Memo{}}
		for _, s := range strs {
			plain.String(s)
			memo.String(s)
		}
		if !bytes.Equal(plain.B, memo.B) {
			t.Errorf("html %v: with a memo the text differs", html)
		}
		if n := len(memo.Memo.texts); n != memoMax {
			t.Errorf("html %v: the memo keeps %d strings, want %d", html, n, memoMax)
		}
	}
}

// benchStrings are the strings the emits write most: an instance plan as
// a Nomad template (indented JSON, a quote every few bytes), plain ASCII
// text, and a short name.
var benchStrings = map[string]string{
	"plan":  strings.Repeat("{\n  \"topic\": \"persistent://acme/bench/t1234\",\n  \"schema\": {\n    \"type\": \"json\"\n  },\n  \"maxRetries\": 3\n}\n", 20),
	"ascii": strings.Repeat("persistent://acme/bench/t1234 ", 64),
	"name":  "bench-f1234",
}

func BenchmarkString(b *testing.B) {
	for _, name := range []string{"plan", "ascii", "name"} {
		s := benchStrings[name]
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(s)))
			buf := make([]byte, 0, 4*len(s))
			for b.Loop() {
				buf = AppendString(buf[:0], s, false)
			}
		})
	}
}

// BenchmarkKey measures an object's keys, the commonest strings of a plan.
func BenchmarkKey(b *testing.B) {
	keys := []string{"kind", "name", "fqfn", "hash", "implementation", "inputs", "topic", "schema", "type", "definition"}
	w := Writer{B: make([]byte, 0, 4096)}
	for b.Loop() {
		w.B = append(w.B[:0], '{')
		w.Depth = 1
		for _, k := range keys {
			w.Key(k)
			w.B = append(w.B, '1')
		}
	}
}

// BenchmarkWriterString measures a Writer's strings: a name, and a plan.
func BenchmarkWriterString(b *testing.B) {
	for _, name := range []string{"name", "plan"} {
		s := benchStrings[name]
		b.Run(name, func(b *testing.B) {
			w := Writer{B: make([]byte, 0, 4*len(s)+1)}
			for b.Loop() {
				w.B = w.B[:0]
				w.String(s)
			}
		})
	}
}
