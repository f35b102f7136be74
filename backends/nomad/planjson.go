package nomad

import (
	"encoding"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// The instance plans of a job's components are most of what building it
// writes. planEncoders write a value of the plan's types as
// json.MarshalIndent writes it (fields in declaration order, omitempty
// and omitzero, maps sorted, < > & escaped), indented as they go: encoding
// it compact and indenting it after took most of the time of building a
// job. What this writer has no way of its own for (a type with a JSON or
// text method of its own, embedded fields, the string option) it leaves
// to encoding/json, so the bytes stay encoding/json's. Like encoding/json
// it uses no pointer method of a value, as json.MarshalIndent of a
// component (not a pointer to it) used none.

// planEncoder appends v at depth, without a newline after it.
type planEncoder func(b []byte, v reflect.Value, depth int) ([]byte, error)

var (
	planEncoders      sync.Map // reflect.Type -> planEncoder
	marshalerType     = reflect.TypeFor[json.Marshaler]()
	textMarshalerType = reflect.TypeFor[encoding.TextMarshaler]()
	isZeroerType      = reflect.TypeFor[interface{ IsZero() bool }]()
	numberType        = reflect.TypeFor[json.Number]()
)

// planEncoderOf returns the encoder of type t, making it on first use, as
// encoding/json makes its own. A type that holds itself meets itself
// while its encoder is made, and gets one that waits for it.
func planEncoderOf(t reflect.Type) planEncoder {
	if e, ok := planEncoders.Load(t); ok {
		return e.(planEncoder)
	}
	var (
		wg sync.WaitGroup
		e  planEncoder
	)
	wg.Add(1)
	waiting, loaded := planEncoders.LoadOrStore(t, planEncoder(func(b []byte, v reflect.Value, depth int) ([]byte, error) {
		wg.Wait()
		return e(b, v, depth)
	}))
	if loaded {
		return waiting.(planEncoder)
	}
	e = newPlanEncoder(t)
	wg.Done()
	planEncoders.Store(t, e)
	return e
}

func newPlanEncoder(t reflect.Type) planEncoder {
	if t.Implements(marshalerType) || t == numberType {
		return marshalPlan
	}
	if t.Implements(textMarshalerType) {
		return textPlan
	}
	switch t.Kind() {
	case reflect.Bool:
		return func(b []byte, v reflect.Value, _ int) ([]byte, error) { return strconv.AppendBool(b, v.Bool()), nil }
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return func(b []byte, v reflect.Value, _ int) ([]byte, error) { return strconv.AppendInt(b, v.Int(), 10), nil }
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return func(b []byte, v reflect.Value, _ int) ([]byte, error) {
			return strconv.AppendUint(b, v.Uint(), 10), nil
		}
	case reflect.Float32, reflect.Float64:
		return floatPlan
	case reflect.String:
		return func(b []byte, v reflect.Value, _ int) ([]byte, error) {
			return appendJSONString(b, v.String(), true), nil
		}
	case reflect.Interface:
		return interfacePlan
	case reflect.Pointer:
		return pointerPlan(t)
	case reflect.Struct:
		return structPlan(t)
	case reflect.Map:
		return mapPlan(t)
	case reflect.Slice:
		return slicePlan(t)
	case reflect.Array:
		return arrayPlan(t)
	}
	return marshalPlan // and encoding/json's error
}

// marshalPlan leaves v to encoding/json, and indents what it writes.
func marshalPlan(b []byte, v reflect.Value, depth int) ([]byte, error) {
	data, err := json.Marshal(v.Interface())
	if err != nil {
		return b, err
	}
	return appendIndent(b, data, strings.Repeat("  ", depth), "  "), nil
}

// textPlan writes the text of a value's MarshalText as a string.
func textPlan(b []byte, v reflect.Value, _ int) ([]byte, error) {
	if v.Kind() == reflect.Pointer && v.IsNil() {
		return append(b, "null"...), nil
	}
	text, err := v.Interface().(encoding.TextMarshaler).MarshalText()
	if err != nil {
		return b, fmt.Errorf("json: error calling MarshalText for type %s: %w", v.Type(), err)
	}
	return appendJSONString(b, string(text), true), nil
}

// floatPlan writes a float as encoding/json does: as ES6 writes numbers.
func floatPlan(b []byte, v reflect.Value, _ int) ([]byte, error) {
	f, bits := v.Float(), v.Type().Bits()
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return b, &json.UnsupportedValueError{Value: v, Str: strconv.FormatFloat(f, 'g', -1, bits)}
	}
	format := byte('f')
	if abs := math.Abs(f); abs != 0 {
		if bits == 64 && (abs < 1e-6 || abs >= 1e21) || bits == 32 && (float32(abs) < 1e-6 || float32(abs) >= 1e21) {
			format = 'e'
		}
	}
	b = strconv.AppendFloat(b, f, format, -1, bits)
	if n := len(b); format == 'e' && n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
		b[n-2] = b[n-1] // e-09 is written e-9
		b = b[:n-1]
	}
	return b, nil
}

func interfacePlan(b []byte, v reflect.Value, depth int) ([]byte, error) {
	if v.IsNil() {
		return append(b, "null"...), nil
	}
	e := v.Elem()
	return planEncoderOf(e.Type())(b, e, depth)
}

func pointerPlan(t reflect.Type) planEncoder {
	elem := planEncoderOf(t.Elem())
	return func(b []byte, v reflect.Value, depth int) ([]byte, error) {
		if v.IsNil() {
			return append(b, "null"...), nil
		}
		return elem(b, v.Elem(), depth)
	}
}

// planField is a field of a struct as encoding/json writes it.
type planField struct {
	index     int
	key       string // "name": as written
	omitEmpty bool
	omitZero  bool
	enc       planEncoder
}

// structPlan writes a struct's fields in declaration order.
func structPlan(t reflect.Type) planEncoder {
	fields, ok := planFields(t)
	if !ok {
		return marshalPlan
	}
	return func(b []byte, v reflect.Value, depth int) ([]byte, error) {
		b = append(b, '{')
		empty := true
		for _, f := range fields {
			fv := v.Field(f.index)
			if f.omitEmpty && isEmptyJSON(fv) || f.omitZero && fv.IsZero() {
				continue
			}
			if !empty {
				b = append(b, ',')
			}
			empty = false
			var err error
			if b, err = f.enc(append(newline(b, depth+1), f.key...), fv, depth+1); err != nil {
				return b, err
			}
		}
		return end(b, empty, '}', depth), nil
	}
}

// planFields are the fields of struct t, or false when encoding/json
// would write them in a way of its own: embedded fields, which it
// promotes; the string option; names it would not take; IsZero methods.
func planFields(t reflect.Type) ([]planField, bool) {
	var fields []planField
	for i := range t.NumField() {
		sf := t.Field(i)
		if sf.Anonymous {
			return nil, false
		}
		tag := sf.Tag.Get("json")
		if !sf.IsExported() || tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		options := strings.Split(opts, ",")
		omitZero := slices.Contains(options, "omitzero")
		if !plainName(name) || slices.Contains(options, "string") ||
			omitZero && (sf.Type.Implements(isZeroerType) || reflect.PointerTo(sf.Type).Implements(isZeroerType)) {
			return nil, false
		}
		if name == "" {
			name = sf.Name
		}
		fields = append(fields, planField{
			index: i, key: `"` + name + `": `, omitEmpty: slices.Contains(options, "omitempty"), omitZero: omitZero,
			enc: planEncoderOf(sf.Type),
		})
	}
	return fields, true
}

// plainName tells whether a tag's name is letters, digits and _ only,
// which encoding/json takes as it is and writes with no escapes.
func plainName(name string) bool {
	for _, c := range name {
		if c != '_' && (c < '0' || c > '9') && (c < 'a' || c > 'z') && (c < 'A' || c > 'Z') {
			return false
		}
	}
	return true
}

// isEmptyJSON tells whether omitempty leaves v out.
func isEmptyJSON(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Array, reflect.Map, reflect.Slice, reflect.String:
		return v.Len() == 0
	case reflect.Struct:
		return false
	}
	return v.IsZero()
}

// mapPlan writes a map with string keys sorted; others are left to
// encoding/json.
func mapPlan(t reflect.Type) planEncoder {
	if t.Key().Kind() != reflect.String {
		return marshalPlan
	}
	elem := planEncoderOf(t.Elem())
	return func(b []byte, v reflect.Value, depth int) ([]byte, error) {
		if v.IsNil() {
			return append(b, "null"...), nil
		}
		if m, ok := v.Interface().(map[string]any); ok { // config: no reflection
			return anyMapPlan(b, m, depth)
		}
		entries := make(map[string]reflect.Value, v.Len())
		for it := v.MapRange(); it.Next(); {
			entries[it.Key().String()] = it.Value()
		}
		b = append(b, '{')
		for i, k := range slices.Sorted(maps.Keys(entries)) {
			if i > 0 {
				b = append(b, ',')
			}
			var err error
			if b, err = elem(append(appendJSONString(newline(b, depth+1), k, true), ": "...), entries[k], depth+1); err != nil {
				return b, err
			}
		}
		return end(b, len(entries) == 0, '}', depth), nil
	}
}

func anyMapPlan(b []byte, m map[string]any, depth int) ([]byte, error) {
	b = append(b, '{')
	for i, k := range slices.Sorted(maps.Keys(m)) {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(appendJSONString(newline(b, depth+1), k, true), ": "...)
		var err error
		if x := m[k]; x == nil {
			b = append(b, "null"...)
		} else if b, err = planEncoderOf(reflect.TypeOf(x))(b, reflect.ValueOf(x), depth+1); err != nil {
			return b, err
		}
	}
	return end(b, len(m) == 0, '}', depth), nil
}

// slicePlan writes a slice as an array; bytes as base64 text.
func slicePlan(t reflect.Type) planEncoder {
	if t.Elem().Kind() == reflect.Uint8 {
		if t.Elem().PkgPath() != "" {
			return marshalPlan // a byte type of its own may have methods
		}
		return func(b []byte, v reflect.Value, _ int) ([]byte, error) {
			if v.IsNil() {
				return append(b, "null"...), nil
			}
			b = append(b, '"')
			b = base64.StdEncoding.AppendEncode(b, v.Bytes())
			return append(b, '"'), nil
		}
	}
	array := arrayPlan(t)
	return func(b []byte, v reflect.Value, depth int) ([]byte, error) {
		if v.IsNil() {
			return append(b, "null"...), nil
		}
		return array(b, v, depth)
	}
}

func arrayPlan(t reflect.Type) planEncoder {
	elem := planEncoderOf(t.Elem())
	return func(b []byte, v reflect.Value, depth int) ([]byte, error) {
		b = append(b, '[')
		for i := range v.Len() {
			if i > 0 {
				b = append(b, ',')
			}
			var err error
			if b, err = elem(newline(b, depth+1), v.Index(i), depth+1); err != nil {
				return b, err
			}
		}
		return end(b, v.Len() == 0, ']', depth), nil
	}
}
