package kubernetes

import (
	"reflect"
	"slices"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// leafWriter writes a value of one of the API types every manifest holds
// many of, as its MarshalJSON would, without the allocations of calling
// it and reading its JSON back. done is false for a value it leaves to
// the general path.
type leafWriter func(w *yamlWriter, v reflect.Value) (done, null bool)

var (
	quantityType    = reflect.TypeFor[resource.Quantity]()
	intOrStringType = reflect.TypeFor[intstr.IntOrString]()
)

// leafFor is the leafWriter of t or of what t points to, nil for others.
func leafFor(t reflect.Type) leafWriter {
	elem := t
	if t.Kind() == reflect.Pointer {
		elem = t.Elem()
	}
	switch elem {
	case quantityType:
		return (*yamlWriter).quantity
	case intOrStringType:
		return (*yamlWriter).intOrString
	}
	return nil
}

// pointee is the value v points to; null when v is a nil pointer.
func pointee(v reflect.Value) (_ reflect.Value, null bool) {
	if v.Kind() != reflect.Pointer {
		return v, false
	}
	if v.IsNil() {
		return v, true
	}
	return v.Elem(), false
}

// quantity writes a resource.Quantity as its MarshalJSON does: its
// String, which is its cached text or else its canonical form.
func (w *yamlWriter) quantity(v reflect.Value) (done, null bool) {
	v, null = pointee(v)
	if null {
		return true, true
	}
	q, ok := reflect.TypeAssert[resource.Quantity](v)
	if !ok {
		return false, false
	}
	return w.quotedText(q.String()), false
}

// intOrString writes an intstr.IntOrString as its MarshalJSON does: a
// number or a string.
func (w *yamlWriter) intOrString(v reflect.Value) (done, null bool) {
	v, null = pointee(v)
	if null {
		return true, true
	}
	is, ok := reflect.TypeAssert[intstr.IntOrString](v)
	switch {
	case !ok:
		return false, false
	case is.Type == intstr.Int:
		w.scalar(strconv.AppendInt(w.scalarStart(), int64(is.IntVal), 10))
		return true, false
	case is.Type == intstr.String:
		return w.quotedText(is.StrVal), false
	}
	return false, false
}

// quotedText writes s double-quoted when it is simpleText, and says
// whether it did.
func (w *yamlWriter) quotedText(s string) bool {
	if !simpleText(s) {
		return false
	}
	w.quoted(s)
	return true
}

// resourceListEntries writes the requests and limits of a container
// without reflection, as mapEntries would.
func (w *yamlWriter) resourceListEntries(m corev1.ResourceList, col int, afterDash bool, before int) (int, error) {
	var small [4]corev1.ResourceName
	keys := small[:0]
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b corev1.ResourceName) int { return strings.Compare(string(a), string(b)) })
	for i, k := range keys {
		if before+i > 0 || !afterDash {
			w.indent(col)
		}
		q := m[k]
		key, text := validUTF8(string(k)), q.String()
		if !simpleKey(key) || !simpleText(text) {
			if _, err := w.byYAMLEntry(key, reflect.ValueOf(q), col); err != nil {
				return 0, err
			}
			continue
		}
		w.set(append(appendKey(w.b, key), ':'))
		w.quotedText(text)
	}
	return len(keys), nil
}
