package kubernetes

import (
	"encoding/json"
	"math"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/meshc/meshc/internal/meshgen"
	"github.com/meshc/meshc/internal/plantest"
)

// TestYAMLAsYAMLv3: the YAML of generated meshes of every shape, in both
// flavours, is the text yaml.v3 writes of the same node tree (the
// examples are held by the golden files, written that way).
func TestYAMLAsYAMLv3(t *testing.T) {
	for _, shape := range meshgen.Shapes {
		p := plantest.Generated(t, shape, 30)
		for _, flavour := range []string{Plain, FunctionMesh} {
			o := Options{Flavour: flavour, Image: "meshc/meshrt:1"}
			got, err := emitWhole(p, o)
			if err != nil {
				t.Fatal(err)
			}
			yamlEncoder = func(dst []byte, _ *sharedTexts, objs ...any) ([]byte, error) {
				text, err := referenceYAML(objs...)
				return append(dst, text...), err
			}
			want, err := emitWhole(p, o)
			yamlEncoder = appendYAML
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("%s %s (-yaml.v3 +got):\n%s", shape, flavour, diff)
			}
		}
	}
}

// FuzzYAML compares encodeYAML with yaml.v3 on strings in every place
// they take: keys, values, list items, nested lists, literal blocks.
func FuzzYAML(f *testing.F) {
	for _, s := range []string{"", " lead", "trail ", "a\nb", "a\n", "a\n\n", "\n", " \n", "\n\na", "y", "No", "0755",
		"a\tb", "é", "\x00", "\ufeff", "line \nx", "x\n ", `"q"`, `back\slash`, "#", ": ", "- a", "{}", "[", "a\r\nb",
		"\u2028", "~", "null", "1e3", "\x7f", "\t\n", "  \n  ", strings.Repeat("k", maxSimpleKey), strings.Repeat("k", maxSimpleKey+1)} {
		f.Add(s, "v")
		f.Add("k", s)
	}
	f.Fuzz(func(t *testing.T, k, v string) {
		obj := map[string]any{
			"apiVersion": "v1", "kind": "X", "status": map[string]any{"a": 1},
			"data":  map[string]any{k: v, "n": nil, "e": map[string]any{}, "l": []any{}},
			"items": []any{v, k, nil, 1.5, true, map[string]any{k: []any{v}, "z": v}, []any{[]any{k}, v}, map[string]any{}},
			"block": v + "\n" + k,
		}
		want, err := referenceYAML(obj, obj)
		if err != nil {
			t.Fatal(err)
		}
		got, err := encodeYAML(obj, obj)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(string(want), string(got)); diff != "" {
			t.Errorf("k=%q v=%q (-yaml.v3 +got):\n%s", k, v, diff)
		}
	})
}

// fuzzEmbedded and fuzzObject exercise what encoding/json does with Go
// values: embedded structs lending their fields, omitempty and omitzero,
// pointers, the ",string" option, []byte, floats, maps with number keys,
// interfaces, and the types that write themselves (MarshalJSON,
// MarshalText).
type fuzzEmbedded struct {
	Inner  string `json:"inner,omitempty"`
	Shadow string `json:"shadow"`
}

type fuzzObject struct {
	metav1.TypeMeta `json:",inline"`
	*fuzzEmbedded
	Meta      metav1.ObjectMeta        `json:"metadata"`
	Shadow    string                   `json:"shadow,omitempty"`
	Text      string                   `json:"text"`
	Number    int64                    `json:"number,string"`
	Ratio     float64                  `json:"ratio"`
	Small     float32                  `json:"small,omitempty"`
	Flag      *bool                    `json:"flag"`
	Data      []byte                   `json:"data,omitempty"`
	Items     []string                 `json:"items"`
	Nested    [][]string               `json:"nested,omitempty"`
	Quantity  resource.Quantity        `json:"quantity"`
	Port      intstr.IntOrString       `json:"port"`
	When      metav1.Time              `json:"when,omitzero"`
	Duration  *metav1.Duration         `json:"duration,omitempty"`
	ByNumber  map[int]string           `json:"byNumber,omitempty"`
	Limits    corev1.ResourceList      `json:"limits,omitempty"`
	Any       any                      `json:"any"`
	Empty     struct{}                 `json:"empty"`
	Unset     *fuzzEmbedded            `json:"unset"`
	Skipped   string                   `json:"-"`
	Labels    map[string]string        `json:"labels"`
	Pointers  map[string]*fuzzEmbedded `json:"pointers,omitempty"`
	Status    map[string]string        `json:"status"`
	IP        net.IP                   `json:"ip,omitempty"`
	Raw       runtime.RawExtension     `json:"raw,omitzero"`
	List      []fuzzEmbedded           `json:"list"`
	Zeroes    [2]int                   `json:"zeroes"`
	unexposed string
}

// FuzzYAMLValues compares encodeYAML with yaml.v3 on Go values: what the
// values become is encoding/json's business there, and encodeYAML's own
// here.
func FuzzYAMLValues(f *testing.F) {
	f.Add("k", "v", int64(1), 1.5, "1Gi", uint8(0))
	f.Add("a\nb\n", "y", int64(-7), 1e21, "100m", uint8(1))
	f.Add("é", "\x00\xff", int64(0), 1e-7, "x", uint8(2))
	f.Add(" lead", "trail \n", int64(1<<40), math.Copysign(0, -1), "1.5e3", uint8(255))
	f.Fuzz(func(t *testing.T, k, v string, n int64, r float64, q string, bits uint8) {
		if math.IsNaN(r) || math.IsInf(r, 0) {
			r = 0
		}
		quantity, err := resource.ParseQuantity(q)
		if err != nil {
			quantity = resource.MustParse("1")
		}
		flag := bits&1 != 0
		obj := &fuzzObject{
			TypeMeta: metav1.TypeMeta{APIVersion: v, Kind: k},
			Meta:     metav1.ObjectMeta{Name: k, Labels: map[string]string{k: v, "b": k}, Annotations: map[string]string{v: k}},
			Shadow:   v, Text: k + v, Number: n, Ratio: r, Small: float32(r),
			Items: []string{k, v}, Nested: [][]string{{k}, {}, {v, k}},
			Quantity: quantity, Port: intstr.FromString(v),
			ByNumber: map[int]string{int(n % 1000): v, -1: k},
			Limits:   corev1.ResourceList{corev1.ResourceName(k): quantity, "cpu": resource.MustParse("100m")},
			Any:      map[string]any{k: []any{v, n, r, nil, true}, "e": map[string]any{}},
			Labels:   map[string]string{k: v},
			Pointers: map[string]*fuzzEmbedded{k: nil, v: {Inner: k}},
			List:     []fuzzEmbedded{{Inner: v}, {}},
			Skipped:  v, unexposed: v,
		}
		if bits&2 != 0 {
			obj.fuzzEmbedded = &fuzzEmbedded{Inner: k, Shadow: v}
			obj.Flag = &flag
			obj.Data = []byte(v)
			obj.When = metav1.Unix(n%1e9, 0)
			obj.Duration = &metav1.Duration{Duration: time.Duration(n)}
			obj.Port = intstr.FromInt32(int32(n))
			obj.IP = net.IPv4(127, 0, 0, bits)
			key, _ := json.Marshal(k)
			obj.Raw = runtime.RawExtension{Raw: []byte(`{"a":[1,{"b":null}],"c":` + string(key) + `}`)}
		}
		if bits&4 != 0 {
			obj.Status = map[string]string{"phase": v}
			obj.Any = []any{[]any{k}, map[string]any{}, obj.List}
		}
		want, wantErr := referenceYAML(obj, *obj)
		got, err := encodeYAML(obj, *obj)
		if (err != nil) != (wantErr != nil) {
			t.Fatalf("error %v, yaml.v3's %v", err, wantErr)
		}
		if diff := cmp.Diff(string(want), string(got)); diff != "" {
			t.Errorf("(-yaml.v3 +got):\n%s", diff)
		}
	})
}

// TestSimpleText: reading eight bytes at a time finds every byte a byte
// at a time would, wherever it is in the string.
func TestSimpleText(t *testing.T) {
	byByte := func(s string) bool {
		for i := range len(s) {
			if c := s[i]; c < ' ' || c > '~' || c == '"' || c == '\\' {
				return false
			}
		}
		return true
	}
	for n := range 18 {
		for at := range n {
			for c := range 256 {
				b := []byte(strings.Repeat("a", n))
				b[at] = byte(c)
				if s := string(b); simpleText(s) != byByte(s) {
					t.Fatalf("simpleText(%q) = %v", s, simpleText(s))
				}
			}
		}
	}
}

// TestPlainKey: the table of key bytes takes what the rule says, every
// byte tried after a letter.
func TestPlainKey(t *testing.T) {
	for c := range 256 {
		b := byte(c)
		want := isLetter(b) || '0' <= b && b <= '9' || b == '_' || b == '.' || b == '/' || b == '-'
		if k := "key" + string([]byte{b}) + "s"; plainKey(k) != want {
			t.Errorf("plainKey(%q) = %v", k, !want)
		}
	}
	for _, k := range []string{"", "1a", "-a", "y", "Yes", "null", "off"} {
		if plainKey(k) {
			t.Errorf("plainKey(%q) = true", k)
		}
	}
}
