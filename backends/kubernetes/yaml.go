package kubernetes

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"
	"unsafe"

	yaml "go.yaml.in/yaml/v3"
	corev1 "k8s.io/api/core/v1"
)

// encodeYAML writes objects as one YAML stream, a document each. What it
// writes of an object is what json.Marshal writes of it, so the API
// types' own field names and omitempty rules apply; then null fields and a
// root status are dropped, strings are double-quoted (or literal blocks
// when they span lines) so that no YAML reader takes "y" or "0755" for a
// bool or a number, and map keys keep JSON's order (fields in the order
// of their struct, map keys sorted).
//
// The values are walked by reflection, each type's fields worked out once
// (yamlfields.go), and the text written straight into one buffer: a
// value's own MarshalJSON or MarshalText is called, as encoding/json
// would, and only what MarshalJSON returns is read as JSON. Writing whole
// objects as JSON and reading them back took most of the time of emitting
// a mesh.
//
// The text is laid out as yaml.v3 lays out that tree (indents of two,
// sequences indented under their key). Scalars that are not plain
// printable text are still written by yaml.v3, so its quoting and
// escaping rules hold for them; yaml_test.go compares the two on every
// example and on fuzzed values.
func encodeYAML(objs ...any) ([]byte, error) { return appendYAML(nil, nil, objs...) }

// appendYAML appends the text encodeYAML writes of objs to dst, the
// texts of values the objects of an Emit share written once (shared may
// be nil). A nil dst gets a buffer of the text's size.
func appendYAML(dst []byte, shared *sharedTexts, objs ...any) ([]byte, error) {
	w := yamlWriters.Get().(*yamlWriter)
	defer yamlWriters.Put(w)
	w.shared = shared
	defer func() { w.shared = nil }()
	if dst != nil {
		own := w.b
		defer func() { w.b = own }()
		w.b = dst
		err := w.documents(objs)
		return w.b, err
	}
	w.b = w.b[:0]
	if err := w.documents(objs); err != nil {
		return nil, err
	}
	if len(w.b) >= handOverSize {
		// A big file takes the buffer itself rather than a copy of it.
		out := w.b
		w.b = nil
		return out, nil
	}
	return bytes.Clone(w.b), nil
}

// documents writes objects, a document each.
func (w *yamlWriter) documents(objs []any) error {
	for i, o := range objs {
		if i > 0 {
			w.set(append(w.b, "---\n"...))
		}
		start := len(w.b)
		if err := w.document(reflect.ValueOf(o)); err != nil {
			return err
		}
		if i == 0 {
			w.reserveFor(len(objs)-1, len(w.b)-start)
		}
	}
	return nil
}

// handOverSize is the length from which encodeYAML returns its buffer
// rather than copying it: copying a file of megabytes costs more than the
// unused end of the buffer.
const handOverSize = 256 << 10

// yamlWriters keep their buffers between files: most files of a mesh are
// alike in size.
var yamlWriters = sync.Pool{New: func() any { return &yamlWriter{} }}

// set makes b, which was appended to w.b, the text. A b in w.b's array is
// stored as a length only: storing an array's address costs the
// collector's write barrier while it marks, and the text is appended to
// a few bytes at a time.
func (w *yamlWriter) set(b []byte) {
	if cap(b) == cap(w.b) { // appending grows the array, or leaves it
		w.b = w.b[:len(b)]
		return
	}
	w.b = b
}

// quoted writes " \"s\"\n", s being simpleText.
func (w *yamlWriter) quoted(s string) {
	b := append(w.b, ' ', '"')
	b = append(b, s...)
	w.set(append(b, '"', '\n'))
}

// yamlWriter writes YAML text.
type yamlWriter struct {
	b      []byte
	depth  int // of pointers and interfaces followed, against cycles
	shared *sharedTexts
	// Values of map key types to copy keys into, one per type.
	scratches map[reflect.Type]reflect.Value
}

// scratch is the writer's value of type t to copy map keys into.
func (w *yamlWriter) scratch(t reflect.Type) reflect.Value {
	v, ok := w.scratches[t]
	if !ok {
		if w.scratches == nil {
			w.scratches = map[reflect.Type]reflect.Value{}
		}
		v = reflect.New(t).Elem()
		w.scratches[t] = v
	}
	return v
}

// maxDepth is how deep values may nest; deeper is taken for a cycle, as
// encoding/json takes it.
const maxDepth = 1000

// Passes over an object's entries: a document's apiVersion and kind come
// first (people look for them there; the API types encode kind first),
// and it has no status (generated objects have none of their own, and the
// API types encode an empty one).
type pass uint8

const (
	allEntries pass = iota
	apiVersionEntry
	kindEntry
	otherEntries
)

func (p pass) takes(key string) bool {
	switch p {
	case apiVersionEntry:
		return key == "apiVersion"
	case kindEntry:
		return key == "kind"
	case otherEntries:
		return key != "apiVersion" && key != "kind" && key != "status"
	}
	return true
}

var documentPasses = []pass{apiVersionEntry, kindEntry, otherEntries}

// document writes one object.
func (w *yamlWriter) document(v reflect.Value) error {
	for v.IsValid() && (v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface) && !v.IsNil() {
		if ti := infoOf(v.Type()); ti.marshal != noMarshal {
			break
		}
		v = v.Elem()
	}
	if !v.IsValid() || (v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface) && v.IsNil() {
		return fmt.Errorf("a manifest is a JSON object, not null")
	}
	ti := infoOf(v.Type())
	n := 0
	switch {
	case ti.marshal != noMarshal && (ti.marshal != addrJSONMarshal && ti.marshal != addrTextMarshal || v.CanAddr()):
		jv, err := marshalledJSON(v, ti)
		if err != nil {
			return err
		}
		if jv.kind != '{' {
			return fmt.Errorf("a manifest is a JSON object, not %q", jv.kind)
		}
		for _, p := range documentPasses {
			k, err := w.jsonEntries(jv, 0, false, n, p)
			if err != nil {
				return err
			}
			n += k
		}
	case ti.kind == reflect.Struct || ti.kind == reflect.Map:
		if ti.kind == reflect.Map && v.IsNil() {
			return fmt.Errorf("a manifest is a JSON object, not null")
		}
		for _, p := range documentPasses {
			k, err := w.entries(v, ti, 0, false, n, p)
			if err != nil {
				return err
			}
			n += k
		}
	default:
		return fmt.Errorf("a manifest is a JSON object, not %s", v.Type())
	}
	if n == 0 {
		w.set(append(w.b, "{}\n"...))
	}
	return nil
}

// entries writes the entries of a struct or map at column col and returns
// how many; the first is on the current line when it follows a sequence's
// "- ". before is how many entries of the same mapping came before.
func (w *yamlWriter) entries(v reflect.Value, ti *typeInfo, col int, afterDash bool, before int, p pass) (int, error) {
	if ti.kind == reflect.Map {
		return w.mapEntries(v, ti, col, afterDash, before, p)
	}
	var base unsafe.Pointer // where v is, to look at fields in place
	if v.CanAddr() {
		base = unsafe.Pointer(v.UnsafeAddr())
	}
	n := 0
	for i := range ti.fields {
		f := &ti.fields[i]
		if !p.takes(f.name) {
			continue
		}
		empty, known := false, false
		if base != nil && f.empty != emptyByValue {
			if empty, known = f.emptyAt(base); empty {
				continue
			}
		}
		fv, ok := fieldOf(v, f.index)
		if !ok {
			continue
		}
		if f.omitEmpty && !known && emptyValue(fv) || f.omitZero && zeroValue(fv, f.zero) {
			continue
		}
		start := len(w.b)
		if before+n > 0 || !afterDash {
			w.indent(col)
		}
		var null bool
		var err error
		switch {
		case f.key == nil:
			null, err = w.byYAMLEntry(f.name, fv, col)
		case f.quoted:
			w.set(append(w.b, f.key...))
			null, err = w.quotedField(fv, f.info, col+2)
		default:
			w.set(append(w.b, f.key...))
			null, err = w.value(fv, f.info, col+2, false)
		}
		if err != nil {
			return 0, err
		}
		if null {
			w.b = w.b[:start]
			continue
		}
		n++
	}
	return n, nil
}

// fieldOf is the field of struct v at index, through embedded pointers;
// false when one of them is nil, as encoding/json leaves the field out.
func fieldOf(v reflect.Value, index []int) (reflect.Value, bool) {
	if len(index) == 1 {
		return v.Field(index[0]), true
	}
	for _, j := range index {
		if v.Kind() == reflect.Pointer {
			if v.IsNil() {
				return reflect.Value{}, false
			}
			v = v.Elem()
		}
		v = v.Field(j)
	}
	return v, true
}

// mapEntry is a map's entry with its key as JSON writes it.
type mapEntry struct {
	key   string
	value reflect.Value
}

// mapEntries writes a map's entries in the order of their keys.
func (w *yamlWriter) mapEntries(v reflect.Value, ti *typeInfo, col int, afterDash bool, before int, p pass) (int, error) {
	if v.CanInterface() {
		if m, ok := reflect.TypeAssert[map[string]string](v); ok {
			return w.stringMapEntries(m, col, afterDash, before, p)
		}
		if m, ok := reflect.TypeAssert[corev1.ResourceList](v); ok && p == allEntries {
			return w.resourceListEntries(m, col, afterDash, before)
		}
	}
	var small [8]mapEntry
	list := small[:0]
	var key reflect.Value
	if ti.key == stringKey {
		// One value to copy each key into: Key would allocate a string
		// header for each.
		key = w.scratch(ti.t.Key())
	}
	var it reflect.MapIter
	for it.Reset(v); it.Next(); {
		var k string
		if key.IsValid() {
			key.SetIterKey(&it)
			k = key.String()
		} else {
			var err error
			if k, err = mapKeyString(it.Key(), ti.key); err != nil {
				return 0, err
			}
		}
		list = append(list, mapEntry{k, it.Value()})
	}
	slices.SortFunc(list, func(a, b mapEntry) int { return strings.Compare(a.key, b.key) })
	n := 0
	for _, e := range list {
		if !p.takes(e.key) {
			continue
		}
		start := len(w.b)
		if before+n > 0 || !afterDash {
			w.indent(col)
		}
		var null bool
		var err error
		if simpleKey(e.key) {
			w.set(append(appendKey(w.b, e.key), ':'))
			null, err = w.value(e.value, ti.elem, col+2, false)
		} else {
			null, err = w.byYAMLEntry(validUTF8(e.key), e.value, col)
		}
		if err != nil {
			return 0, err
		}
		if null {
			w.b = w.b[:start]
			continue
		}
		n++
	}
	return n, nil
}

// stringMapEntries writes the commonest map, labels and data, without
// reflection.
func (w *yamlWriter) stringMapEntries(m map[string]string, col int, afterDash bool, before int, p pass) (int, error) {
	var small [8]stringEntry
	list := small[:0]
	for k, v := range m {
		list = append(list, stringEntry{k, v})
	}
	slices.SortFunc(list, compareStringEntries)
	n := 0
	for _, e := range list {
		if !p.takes(e.key) {
			continue
		}
		if before+n > 0 || !afterDash {
			w.indent(col)
		}
		n++
		if !simpleKey(e.key) {
			if _, err := w.byYAMLEntry(validUTF8(e.key), reflect.ValueOf(e.value), col); err != nil {
				return 0, err
			}
			continue
		}
		w.set(append(appendKey(w.b, e.key), ':'))
		if err := w.str(e.value, col+2); err != nil {
			return 0, err
		}
	}
	return n, nil
}

type stringEntry struct{ key, value string }

func compareStringEntries(a, b stringEntry) int { return strings.Compare(a.key, b.key) }

func mapKeyString(k reflect.Value, how mapKey) (string, error) {
	switch how {
	case stringKey:
		return k.String(), nil
	case intKey:
		return strconv.FormatInt(k.Int(), 10), nil
	case uintKey:
		return strconv.FormatUint(k.Uint(), 10), nil
	case textKey:
		if k.Kind() == reflect.Pointer && k.IsNil() {
			return "", nil
		}
		text, err := k.Interface().(interface{ MarshalText() ([]byte, error) }).MarshalText()
		if err != nil {
			return "", fmt.Errorf("writing the map key %v: %w", k, err)
		}
		return string(text), nil
	}
	return "", fmt.Errorf("a map with keys of type %s cannot be written", k.Type())
}

// value writes v after "key:" or, with afterDash, after a sequence's "-";
// what it holds goes at column col. It writes nothing of a null and says
// so.
func (w *yamlWriter) value(v reflect.Value, ti *typeInfo, col int, afterDash bool) (null bool, err error) {
	if w.shared != nil {
		if done, null, err := w.sharedValue(v, ti, col, afterDash); done {
			return null, err
		}
	}
	return w.plainValue(v, ti, col, afterDash)
}

// plainValue is value, written whether shared or not.
func (w *yamlWriter) plainValue(v reflect.Value, ti *typeInfo, col int, afterDash bool) (null bool, err error) {
	if ti.leaf != nil && v.CanInterface() {
		if done, null := ti.leaf(w, v); done {
			return null, nil
		}
	}
	switch ti.marshal {
	case jsonMarshal, textMarshal:
		return w.marshalled(v, ti, col, afterDash)
	case addrJSONMarshal, addrTextMarshal:
		if v.CanAddr() {
			return w.marshalled(v, ti, col, afterDash)
		}
	}
	switch ti.kind {
	case reflect.String:
		if ti.t == numberType {
			return false, w.jsonNumber(v.String())
		}
		return false, w.str(v.String(), col)
	case reflect.Bool:
		w.scalar(strconv.AppendBool(w.scalarStart(), v.Bool()))
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		w.scalar(strconv.AppendInt(w.scalarStart(), v.Int(), 10))
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		w.scalar(strconv.AppendUint(w.scalarStart(), v.Uint(), 10))
	case reflect.Float32, reflect.Float64:
		b, err := appendFloat(nil, v.Float(), ti.t.Bits())
		if err != nil {
			return false, err
		}
		w.number(string(b))
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return true, nil
		}
		if w.depth++; w.depth > maxDepth {
			return false, fmt.Errorf("a value nests deeper than %d: a cycle?", maxDepth)
		}
		elem := ti.elem
		if ti.kind == reflect.Interface {
			elem = infoOf(v.Elem().Type())
		}
		null, err := w.value(v.Elem(), elem, col, afterDash)
		w.depth--
		return null, err
	case reflect.Struct, reflect.Map:
		if ti.kind == reflect.Map && v.IsNil() {
			return true, nil
		}
		start := len(w.b)
		w.set(append(w.b, separator(afterDash)))
		n, err := w.entries(v, ti, col, afterDash, 0, allEntries)
		if err != nil {
			return false, err
		}
		if n == 0 {
			w.set(append(w.b[:start], " {}\n"...))
		}
	case reflect.Slice, reflect.Array:
		if ti.kind == reflect.Slice && v.IsNil() {
			return true, nil
		}
		if ti.bytes {
			return false, w.str(base64.StdEncoding.EncodeToString(v.Bytes()), col)
		}
		if v.Len() == 0 {
			w.set(append(w.b, " []\n"...))
			return false, nil
		}
		w.set(append(w.b, separator(afterDash)))
		return false, w.sequence(v, ti.elem, col, afterDash)
	default:
		return false, fmt.Errorf("a value of type %s cannot be written", ti.t)
	}
	return false, nil
}

// separator comes between "key:" or "-" and a mapping or sequence: a
// sequence's item starts on the line of its dash.
func separator(afterDash bool) byte {
	if afterDash {
		return ' '
	}
	return '\n'
}

// sequence writes the items of a list at column col, each after "- ".
func (w *yamlWriter) sequence(v reflect.Value, elem *typeInfo, col int, afterDash bool) error {
	n := v.Len()
	for i := range n {
		start := len(w.b)
		if i > 0 || !afterDash {
			w.indent(col)
		}
		w.set(append(w.b, '-'))
		null, err := w.value(v.Index(i), elem, col+2, true)
		if err != nil {
			return err
		}
		if null {
			w.set(append(w.b, " null\n"...))
		}
		if i == 0 {
			w.reserveFor(n-1, len(w.b)-start)
		}
	}
	return nil
}

// manyParts is how many more parts like the one just written (documents
// of a file, items of a list) make reserveFor size the buffer for them
// all: growing a buffer of megabytes step by step copied and cleared it
// over and over.
const manyParts = 8

// reserveFor makes room for n more parts of about size bytes each, with
// an eighth to spare.
func (w *yamlWriter) reserveFor(n, size int) {
	if n < manyParts {
		return
	}
	need := n * size * 9 / 8
	if cap(w.b)-len(w.b) >= need {
		return
	}
	b := make([]byte, len(w.b), len(w.b)+need)
	copy(b, w.b)
	w.b = b
}

// marshalled writes what v's MarshalJSON or MarshalText says it is.
func (w *yamlWriter) marshalled(v reflect.Value, ti *typeInfo, col int, afterDash bool) (bool, error) {
	if (v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface) && v.IsNil() {
		return true, nil
	}
	if ti.marshal == textMarshal || ti.marshal == addrTextMarshal {
		text, err := textOf(v, ti)
		if err != nil {
			return false, err
		}
		return false, w.str(text, col)
	}
	data, err := jsonOf(v, ti)
	if err != nil {
		return false, err
	}
	if plainJSONString(data) {
		// Written as it is: " "text"" is the double-quoted YAML of it.
		b := append(w.b, ' ')
		b = append(b, data...)
		w.set(append(b, '\n'))
		return false, nil
	}
	jv, err := parseMarshalled(data, v)
	if err != nil {
		return false, err
	}
	return w.jsonValue(jv, col, afterDash)
}

// marshalledJSON is what v's MarshalJSON or MarshalText says, as JSON.
func marshalledJSON(v reflect.Value, ti *typeInfo) (*jsonValue, error) {
	if ti.marshal == textMarshal || ti.marshal == addrTextMarshal {
		text, err := textOf(v, ti)
		return &jsonValue{kind: '"', s: validUTF8(text)}, err
	}
	data, err := jsonOf(v, ti)
	if err != nil {
		return nil, err
	}
	return parseMarshalled(data, v)
}

func parseMarshalled(data []byte, v reflect.Value) (*jsonValue, error) {
	if !json.Valid(data) {
		return nil, fmt.Errorf("MarshalJSON of %s wrote invalid JSON", v.Type())
	}
	return parseJSON(data)
}

func jsonOf(v reflect.Value, ti *typeInfo) ([]byte, error) {
	if ti.marshal == addrJSONMarshal {
		v = v.Addr()
	}
	m, ok := v.Interface().(json.Marshaler)
	if !ok {
		return []byte("null"), nil
	}
	data, err := m.MarshalJSON()
	if err != nil {
		return nil, fmt.Errorf("MarshalJSON of %s: %w", v.Type(), err)
	}
	return data, nil
}

func textOf(v reflect.Value, ti *typeInfo) (string, error) {
	if ti.marshal == addrTextMarshal {
		v = v.Addr()
	}
	m, ok := v.Interface().(interface{ MarshalText() ([]byte, error) })
	if !ok {
		return "", nil
	}
	text, err := m.MarshalText()
	if err != nil {
		return "", fmt.Errorf("MarshalText of %s: %w", v.Type(), err)
	}
	return string(text), nil
}

// plainJSONString says whether data is a JSON string of printable ASCII
// without escapes, which is how str writes the same string.
func plainJSONString(data []byte) bool {
	return len(data) >= 2 && data[0] == '"' && data[len(data)-1] == '"' && simpleText(string(data[1:len(data)-1]))
}

// quotedField writes a field with the ",string" option: its number or
// bool as a string, its string as the JSON text of it.
func (w *yamlWriter) quotedField(v reflect.Value, ti *typeInfo, col int) (bool, error) {
	if ti.kind == reflect.Pointer {
		if v.IsNil() {
			return true, nil
		}
		v, ti = v.Elem(), ti.elem
	}
	if ti.marshal != noMarshal {
		return w.value(v, ti, col, false)
	}
	var text []byte
	switch ti.kind {
	case reflect.String:
		if ti.t == numberType {
			return false, w.str(v.String(), col)
		}
		quoted, err := json.Marshal(v.String())
		if err != nil {
			return false, err
		}
		text = quoted
	case reflect.Bool:
		text = strconv.AppendBool(nil, v.Bool())
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		text = strconv.AppendInt(nil, v.Int(), 10)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		text = strconv.AppendUint(nil, v.Uint(), 10)
	default:
		b, err := appendFloat(nil, v.Float(), ti.t.Bits())
		if err != nil {
			return false, err
		}
		text = b
	}
	return false, w.str(string(text), col)
}

// jsonNumber writes a json.Number as encoding/json does.
func (w *yamlWriter) jsonNumber(s string) error {
	if s == "" {
		s = "0"
	}
	// A JSON value that starts as a number does and has no spaces is one.
	if !json.Valid([]byte(s)) || !strings.ContainsAny(s[:1], "-0123456789") || strings.ContainsAny(s, " \t\r\n") {
		return fmt.Errorf("json: invalid number literal %q", s)
	}
	w.number(s)
	return nil
}

// appendFloat writes f as encoding/json does: like %g, with its own
// exponent cutoffs.
func appendFloat(b []byte, f float64, bits int) ([]byte, error) {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return nil, fmt.Errorf("json: unsupported value: %s", strconv.FormatFloat(f, 'g', -1, bits))
	}
	abs := math.Abs(f)
	format := byte('f')
	if abs != 0 && (bits == 64 && (abs < 1e-6 || abs >= 1e21) || bits == 32 && (float32(abs) < 1e-6 || float32(abs) >= 1e21)) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, bits)
	if n := len(b); format == 'e' && n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
		b[n-2] = b[n-1]
		b = b[:n-1]
	}
	return b, nil
}

// scalarStart begins " scalar\n" after "key:" or "-"; scalar ends it.
func (w *yamlWriter) scalarStart() []byte { return append(w.b, ' ') }
func (w *yamlWriter) scalar(b []byte)     { w.set(append(b, '\n')) }

// byYAMLEntry writes the entry key: v of a mapping by yaml.v3, for keys
// that are not plain printable text; v goes through JSON to get there.
func (w *yamlWriter) byYAMLEntry(key string, v reflect.Value, col int) (bool, error) {
	if v.CanAddr() {
		v = v.Addr()
	}
	data, err := json.Marshal(v.Interface())
	if err != nil {
		return false, err
	}
	jv, err := parseJSON(data)
	if err != nil {
		return false, err
	}
	if jv.kind == 'n' {
		return true, nil
	}
	return false, w.byYAML(keyNode(key), toNode(jv), col)
}

// validUTF8 is s as JSON carries it: each byte that is not UTF-8 made
// U+FFFD.
func validUTF8(s string) string {
	for i := range len(s) {
		if s[i] >= utf8.RuneSelf {
			return fixUTF8(s)
		}
	}
	return s
}

func fixUTF8(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b.WriteRune(utf8.RuneError)
		} else {
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

// jsonValue writes v, read from JSON, as value writes a Go value.
func (w *yamlWriter) jsonValue(v *jsonValue, col int, afterDash bool) (bool, error) {
	switch {
	case v.kind == 'n':
		return true, nil
	case v.kind == '{' && len(v.keys) == 0:
		w.set(append(w.b, " {}\n"...))
	case v.kind == '[' && len(v.items) == 0:
		w.set(append(w.b, " []\n"...))
	case v.kind == '{':
		w.set(append(w.b, separator(afterDash)))
		_, err := w.jsonEntries(v, col, afterDash, 0, allEntries)
		return false, err
	case v.kind == '[':
		w.set(append(w.b, separator(afterDash)))
		for i, item := range v.items {
			if i > 0 || !afterDash {
				w.indent(col)
			}
			w.set(append(w.b, '-'))
			null, err := w.jsonValue(item, col+2, true)
			if err != nil {
				return false, err
			}
			if null {
				w.set(append(w.b, " null\n"...))
			}
		}
	case v.kind == '"':
		return false, w.str(v.s, col)
	case v.s == "true" || v.s == "false":
		w.scalar(append(w.scalarStart(), v.s...))
	default:
		w.number(v.s)
	}
	return false, nil
}

// number writes the text of a JSON number. An integer too big for 64
// bits is one YAML readers take for a float, so yaml.v3 tags it.
func (w *yamlWriter) number(s string) {
	b := w.scalarStart()
	if !strings.ContainsAny(s, ".eE") {
		if _, err := strconv.ParseInt(s, 10, 64); err != nil {
			if _, err := strconv.ParseUint(s, 10, 64); err != nil {
				b = append(b, "!!int "...)
			}
		}
	}
	w.scalar(append(b, s...))
}

// jsonEntries writes the entries of a JSON object as entries does.
func (w *yamlWriter) jsonEntries(v *jsonValue, col int, afterDash bool, before int, p pass) (int, error) {
	n := 0
	for i, k := range v.keys {
		if !p.takes(k) {
			continue
		}
		if before+n > 0 || !afterDash {
			w.indent(col)
		}
		n++
		if !simpleKey(k) {
			if err := w.byYAML(keyNode(k), toNode(v.items[i]), col); err != nil {
				return 0, err
			}
			continue
		}
		w.set(append(appendKey(w.b, k), ':'))
		if _, err := w.jsonValue(v.items[i], col+2, false); err != nil {
			return 0, err
		}
	}
	return n, nil
}

// indents holds the spaces of indents, sliced to length.
var indents = strings.Repeat(" ", 256)

func (w *yamlWriter) indent(col int) {
	for col > len(indents) {
		w.set(append(w.b, indents...))
		col -= len(indents)
	}
	w.set(append(w.b, indents[:col]...))
}

// ambiguousKeys are the words YAML 1.1 reads as bools or null: keys that
// are quoted even though they are plain.
var ambiguousKeys = []string{"y", "n", "yes", "no", "on", "off", "true", "false", "null"}

// maxSimpleKey is the longest key yaml.v3 writes as "key: value"; longer
// ones take the "? key" form.
const maxSimpleKey = 128

// simpleKey is a key written here: one line of plain printable text.
func simpleKey(k string) bool { return len(k) <= maxSimpleKey && simpleText(k) }

// appendKey writes a simple key, quoted unless every YAML reader takes it
// for a string as it is: a letter, then letters, digits and _ . / -, and
// not one of the ambiguousKeys.
func appendKey(b []byte, k string) []byte {
	if plainKey(k) {
		return append(b, k...)
	}
	b = append(b, '"')
	b = append(b, k...)
	return append(b, '"')
}

func plainKey(k string) bool {
	if k == "" || !isLetter(k[0]) {
		return false
	}
	for i := 1; i < len(k); i++ {
		if !keyBytes[k[i]] {
			return false
		}
	}
	if len(k) <= len("false") {
		for _, a := range ambiguousKeys {
			if strings.EqualFold(k, a) {
				return false
			}
		}
	}
	return true
}

func isLetter(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }

// keyBytes marks the bytes a plain key may hold after its first: letters,
// digits and _ . / -. A table, as every key of every map is read so.
var keyBytes = func() (t [256]bool) {
	for c := range 256 {
		b := byte(c)
		t[c] = isLetter(b) || '0' <= b && b <= '9' || strings.IndexByte("_./-", b) >= 0
	}
	return t
}()

func keyNode(k string) *yaml.Node {
	n := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: k}
	if !plainKey(k) {
		n.Style = yaml.DoubleQuotedStyle
	}
	return n
}

// multiLine says whether s is written as a literal block: it has a
// newline before its last character.
func multiLine(s string) bool { return strings.Contains(strings.TrimSuffix(s, "\n"), "\n") }

func stringNode(s string) *yaml.Node {
	style := yaml.DoubleQuotedStyle
	if multiLine(s) {
		style = yaml.LiteralStyle
	}
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s, Style: style}
}

// toNode is v as a yaml.v3 node, its strings styled as encodeYAML styles
// them.
func toNode(v *jsonValue) *yaml.Node {
	switch v.kind {
	case '{':
		n := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
		for i, k := range v.keys {
			n.Content = append(n.Content, keyNode(k), toNode(v.items[i]))
		}
		return n
	case '[':
		n := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
		for _, item := range v.items {
			n.Content = append(n.Content, toNode(item))
		}
		return n
	case '"':
		return stringNode(v.s)
	case 'n':
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Value: "null"}
	}
	tag := "!!int"
	switch {
	case v.s == "true" || v.s == "false":
		tag = "!!bool"
	case strings.ContainsAny(v.s, ".eE"):
		tag = "!!float"
	}
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: tag, Value: v.s}
}

// str writes a string double-quoted, or as a literal block when it spans
// lines, or else by yaml.v3.
func (w *yamlWriter) str(s string, col int) error {
	if simpleText(s) {
		w.quoted(s)
		return nil
	}
	if w.literalBlock(s, col) {
		return nil
	}
	return w.byYAML(nil, stringNode(validUTF8(s)), col-2)
}

// simpleText is text yaml.v3 writes double-quoted as it is: printable
// ASCII without quotes or backslashes. It is asked of every key and most
// values, so it reads eight bytes at a time.
func simpleText(s string) bool {
	i := 0
	for ; i+8 <= len(s); i += 8 {
		x := load64(s[i:])
		if unprintable(x)|zeroByte(x^('"'*lows))|zeroByte(x^('\\'*lows)) != 0 {
			return false
		}
	}
	for ; i < len(s); i++ {
		if c := s[i]; c < ' ' || c > '~' || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

// byYAML writes what yaml.v3 writes of the entry key: value of a mapping
// at column col, or of value alone after "key:" when key is nil.
func (w *yamlWriter) byYAML(key, value *yaml.Node, col int) error {
	k := key
	if k == nil {
		k = &yaml.Node{Kind: yaml.ScalarNode, Value: "k"}
	}
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(&yaml.Node{Kind: yaml.MappingNode, Content: []*yaml.Node{k, value}}); err != nil {
		return err
	}
	if err := enc.Close(); err != nil {
		return err
	}
	text := b.String()
	if key == nil {
		text = strings.TrimPrefix(text, "k:")
	}
	for i, line := range strings.SplitAfter(text, "\n") {
		if i > 0 && line != "\n" && line != "" {
			w.indent(col)
		}
		w.set(append(w.b, line...))
	}
	return nil
}
