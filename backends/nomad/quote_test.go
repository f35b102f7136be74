package nomad

import (
	"fmt"
	"math"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/zclconf/go-cty/cty"
)

// The HCL writers are held to the library whose bytes they give: hclwrite
// with cty values.

var quoteCases = []string{
	"", "plain", `a "quoted" word`, `back\slash`, "new\nline\r\ttab", "${NOMAD_TASK_DIR}/x", "%{ if }",
	"$${x}", "%%{x}", "$", "%", "a$", "{$}", "$ {", "e\u0301", "é", "\x00\x01\x1f", "\x7f", "\b\f",
	"\u00a0nbsp", "\U0001F600", "\U000E0001", "\xff", "a\xc3", "\u2028\u2029", "<&>", "K\u212a",
	"ﬁ", "\ufeff", "\ufffd",
}

func TestHCLString(t *testing.T) {
	for _, s := range quoteCases {
		if got, want := string(appendHCLString(nil, s)), hclReference(s); got != want {
			t.Errorf("appendHCLString(%q) = %s, want %s", s, got, want)
		}
	}
}

func TestValidIdentifier(t *testing.T) {
	for _, s := range append(quoteCases, "a", "_", "a-b", "a_1", "-a", "1a", "a.b", "A9", "é", "x\u0301", "true") {
		if got, want := validIdentifier(s), hclsyntax.ValidIdentifier(s); got != want {
			t.Errorf("validIdentifier(%q) = %v, want %v", s, got, want)
		}
	}
}

func TestHeredoc(t *testing.T) {
	for _, s := range append(quoteCases, "a\n", "EOT\n", "a\nEOT\n", "EOTx\n", "a\nEOT", "${x}\n$${y}%{z}\n", "{\n}\n", "x\nEOTEOT\nEOT\n", "%${${%{", "EOT\nEOT") {
		if got, want := heredocText(s), heredocReference(s); got != want {
			t.Errorf("heredocText(%q) = %v, want %v", s, got, want)
		}
		if want := "<<EOT\n" + templateEscaper.Replace(s) + "EOT\n"; string(appendHeredoc(nil, s)) != want {
			t.Errorf("appendHeredoc(%q) = %q, want %q", s, appendHeredoc(nil, s), want)
		}
	}
}

// TestHCLValues: attribute values as hclwrite writes their cty values.
func TestHCLValues(t *testing.T) {
	for _, v := range []any{
		"s", true, false, 0, -7, int8(-8), uint64(math.MaxUint64), int64(math.MinInt64), 30 * time.Second,
		90 * time.Minute, 0.1, 1.5, math.Copysign(0, -1), 1e21, 1e-7, 123456789.125, float32(0.1), math.MaxFloat64,
		[]string{}, []string{"a"}, []string{"meshc", "function"}, []int{1, 2}, [][]string{{"a", "b"}, {}},
		[]any{"a", 1, true, []string{"b"}}, ptr("p"), ptr(3), []*string{ptr("q")}, []time.Duration{time.Second},
	} {
		want, err := ctyReference(reflect.ValueOf(v))
		if err != nil {
			t.Fatal(err)
		}
		got, err := (&hclWriter{}).value(nil, reflect.ValueOf(v))
		if err != nil {
			t.Errorf("%T %v: %v", v, v, err)
		} else if string(got) != string(hclwrite.TokensForValue(want).Bytes()) {
			t.Errorf("%T %v: got %s, want %s", v, v, got, hclwrite.TokensForValue(want).Bytes())
		}
	}
}

// FuzzQuote holds the HCL string writers to the library on any text.
func FuzzQuote(f *testing.F) {
	for _, s := range quoteCases {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := string(appendHCLString(nil, s)), hclReference(s); got != want {
			t.Errorf("appendHCLString(%q) = %s, want %s", s, got, want)
		}
		if got, want := validIdentifier(s), hclsyntax.ValidIdentifier(s); got != want {
			t.Errorf("validIdentifier(%q) = %v, want %v", s, got, want)
		}
		if got, want := heredocText(s), heredocReference(s); got != want {
			t.Errorf("heredocText(%q) = %v, want %v", s, got, want)
		}
		if got, want := string(appendHeredoc(nil, s)), "<<EOT\n"+templateEscaper.Replace(s)+"EOT\n"; got != want {
			t.Errorf("appendHeredoc(%q) = %q, want %q", s, got, want)
		}
	})
}

func hclReference(s string) string {
	return string(hclwrite.TokensForValue(cty.StringVal(s)).Bytes())
}

// heredocReference is text of whole lines, none of them EOT.
func heredocReference(s string) bool {
	return strings.HasSuffix(s, "\n") && !slices.Contains(strings.Split(s, "\n"), "EOT")
}

var templateEscaper = strings.NewReplacer("${", "$${", "%{", "%%{")

// ctyReference converts a value as the HCL writer once did, to cty for
// hclwrite: durations become Go duration text ("30s").
func ctyReference(v reflect.Value) (cty.Value, error) {
	if v.Type() == durationType {
		return cty.StringVal(durationText(time.Duration(v.Int()))), nil
	}
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		return ctyReference(v.Elem())
	case reflect.String:
		return cty.StringVal(v.String()), nil
	case reflect.Bool:
		return cty.BoolVal(v.Bool()), nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return cty.NumberIntVal(v.Int()), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return cty.NumberUIntVal(v.Uint()), nil
	case reflect.Float32, reflect.Float64:
		return cty.NumberFloatVal(v.Float()), nil
	case reflect.Slice:
		if v.Len() == 0 {
			return cty.ListValEmpty(cty.String), nil
		}
		vals := make([]cty.Value, v.Len())
		for i := range vals {
			var err error
			if vals[i], err = ctyReference(v.Index(i)); err != nil {
				return cty.NilVal, err
			}
		}
		return cty.TupleVal(vals), nil
	}
	return cty.NilVal, fmt.Errorf("a %s has no HCL attribute form", v.Type())
}
