package kubernetes

import (
	"encoding"
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"sync"
	"unicode"
)

// typeInfo is how encoding/json writes values of one Go type, worked out
// once per type: which of the type's methods it calls, and for a struct
// its fields in order with their JSON names and options. encodeYAML walks
// values by it, so that its YAML holds what json.Marshal would write
// without writing and reading that JSON.
type typeInfo struct {
	t    reflect.Type
	kind reflect.Kind
	// marshal says which method encoding/json calls instead of looking
	// at the value: the type's MarshalJSON or MarshalText, or its
	// pointer's when the value is addressable.
	marshal marshalKind
	elem    *typeInfo // a pointer's, slice's, array's or map's elements
	bytes   bool      // a []byte, written as base64
	key     mapKey    // how a map's keys become strings
	fields  []fieldInfo
	leaf    leafWriter // for the few API types written without reflection
}

type marshalKind uint8

const (
	noMarshal marshalKind = iota
	jsonMarshal
	addrJSONMarshal // through the pointer, when addressable
	textMarshal
	addrTextMarshal
)

type mapKey uint8

const (
	badKey mapKey = iota
	stringKey
	textKey
	intKey
	uintKey
)

// fieldInfo is one field encoding/json writes.
type fieldInfo struct {
	name      string
	key       []byte // "name:" as written, when the name is a simple key
	index     []int
	omitEmpty bool
	omitZero  bool
	quoted    bool // the ",string" option
	zero      zeroTest
	info      *typeInfo
	// Where the field is in its struct, when no pointer is on the way,
	// and how to tell it empty there.
	offset uintptr
	empty  emptyTest
}

// zeroTest is how omitzero tells a zero value: by the type's IsZero method
// (on the value, through an interface, or through its pointer), or else
// by reflection.
type zeroTest uint8

const (
	reflectZero zeroTest = iota
	interfaceIsZero
	pointerIsZero
	valueIsZero
	addrIsZero
)

func zeroTestOf(t reflect.Type) zeroTest {
	switch {
	case t.Kind() == reflect.Interface && t.Implements(zeroerType):
		return interfaceIsZero
	case t.Kind() == reflect.Pointer && t.Implements(zeroerType):
		return pointerIsZero
	case t.Implements(zeroerType):
		return valueIsZero
	case reflect.PointerTo(t).Implements(zeroerType):
		return addrIsZero
	}
	return reflectZero
}

var (
	marshalerType     = reflect.TypeFor[json.Marshaler]()
	textMarshalerType = reflect.TypeFor[encoding.TextMarshaler]()
	numberType        = reflect.TypeFor[json.Number]()
	zeroerType        = reflect.TypeFor[interface{ IsZero() bool }]()
)

var (
	typeInfos   sync.Map // reflect.Type -> *typeInfo, complete
	typeInfosMu sync.Mutex
)

// infoOf returns the typeInfo of t, working it out on first use.
func infoOf(t reflect.Type) *typeInfo {
	if ti, ok := typeInfos.Load(t); ok {
		return ti.(*typeInfo)
	}
	typeInfosMu.Lock()
	defer typeInfosMu.Unlock()
	building := map[reflect.Type]*typeInfo{}
	ti := buildInfo(t, building)
	// Published only once whole: a recursive type refers to itself.
	for t, b := range building {
		typeInfos.Store(t, b)
	}
	return ti
}

func buildInfo(t reflect.Type, building map[reflect.Type]*typeInfo) *typeInfo {
	if ti, ok := typeInfos.Load(t); ok {
		return ti.(*typeInfo)
	}
	if ti, ok := building[t]; ok {
		return ti
	}
	ti := &typeInfo{t: t, kind: t.Kind(), leaf: leafFor(t)}
	building[t] = ti
	// The order of encoding/json's newTypeEncoder.
	ptr := t.Kind() != reflect.Pointer
	switch {
	case ptr && reflect.PointerTo(t).Implements(marshalerType) && !t.Implements(marshalerType):
		ti.marshal = addrJSONMarshal
	case t.Implements(marshalerType):
		ti.marshal = jsonMarshal
	case ptr && reflect.PointerTo(t).Implements(textMarshalerType) && !t.Implements(textMarshalerType):
		ti.marshal = addrTextMarshal
	case t.Implements(textMarshalerType):
		ti.marshal = textMarshal
	}
	switch t.Kind() {
	case reflect.Pointer, reflect.Array:
		ti.elem = buildInfo(t.Elem(), building)
	case reflect.Slice:
		ti.elem = buildInfo(t.Elem(), building)
		if e := t.Elem(); e.Kind() == reflect.Uint8 {
			p := reflect.PointerTo(e)
			ti.bytes = !p.Implements(marshalerType) && !p.Implements(textMarshalerType)
		}
	case reflect.Map:
		ti.elem = buildInfo(t.Elem(), building)
		ti.key = mapKeyOf(t.Key())
	case reflect.Struct:
		ti.fields = structFields(t, building)
	}
	return ti
}

func mapKeyOf(k reflect.Type) mapKey {
	switch k.Kind() {
	case reflect.String:
		return stringKey
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		if !k.Implements(textMarshalerType) {
			return intKey
		}
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		if !k.Implements(textMarshalerType) {
			return uintKey
		}
	}
	if k.Implements(textMarshalerType) {
		return textKey
	}
	return badKey
}

// structFields lists the fields encoding/json writes of struct type t, in
// its order, by its rules: json tags name fields and give options,
// embedded structs without a name lend their fields, and of fields of one
// name the shallowest wins, a tagged one among equals, else none.
func structFields(t reflect.Type, building map[reflect.Type]*typeInfo) []fieldInfo {
	type candidate struct {
		fieldInfo
		tagged bool
		typ    reflect.Type
	}
	type queued struct {
		typ   reflect.Type
		index []int
	}
	var found []candidate
	next := []queued{{typ: t}}
	visited := map[reflect.Type]bool{}
	var count, nextCount map[reflect.Type]int
	for len(next) > 0 {
		current := next
		next = nil
		count, nextCount = nextCount, map[reflect.Type]int{}
		for _, q := range current {
			if visited[q.typ] {
				continue
			}
			visited[q.typ] = true
			for i := range q.typ.NumField() {
				sf := q.typ.Field(i)
				if sf.Anonymous {
					ft := sf.Type
					if ft.Kind() == reflect.Pointer {
						ft = ft.Elem()
					}
					if !sf.IsExported() && ft.Kind() != reflect.Struct {
						continue
					}
				} else if !sf.IsExported() {
					continue
				}
				tag := sf.Tag.Get("json")
				if tag == "-" {
					continue
				}
				name, opts, _ := strings.Cut(tag, ",")
				if !validTag(name) {
					name = ""
				}
				index := append(slices.Clip(q.index), i)
				ft := sf.Type
				if ft.Name() == "" && ft.Kind() == reflect.Pointer {
					ft = ft.Elem()
				}
				quoted := false
				if hasOption(opts, "string") {
					switch ft.Kind() {
					case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
						reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uintptr, reflect.Uint64,
						reflect.Float32, reflect.Float64, reflect.String:
						quoted = true
					}
				}
				if name != "" || !sf.Anonymous || ft.Kind() != reflect.Struct {
					tagged := name != ""
					if name == "" {
						name = sf.Name
					}
					fi := fieldInfo{
						name: name, index: index, quoted: quoted,
						omitEmpty: hasOption(opts, "omitempty"), omitZero: hasOption(opts, "omitzero"),
						zero: zeroTestOf(sf.Type), info: buildInfo(sf.Type, building),
					}
					found = append(found, candidate{fieldInfo: fi, tagged: tagged, typ: ft})
					if count[q.typ] > 1 {
						// Two embeddings of one type at one depth
						// annihilate each other; one stands for both.
						found = append(found, found[len(found)-1])
					}
					continue
				}
				nextCount[ft]++
				if nextCount[ft] == 1 {
					next = append(next, queued{typ: ft, index: index})
				}
			}
		}
	}
	slices.SortFunc(found, func(a, b candidate) int {
		if c := strings.Compare(a.name, b.name); c != 0 {
			return c
		}
		if c := len(a.index) - len(b.index); c != 0 {
			return c
		}
		if a.tagged != b.tagged {
			if a.tagged {
				return -1
			}
			return 1
		}
		return slices.Compare(a.index, b.index)
	})
	var out []fieldInfo
	for i := 0; i < len(found); {
		j := i + 1
		for j < len(found) && found[j].name == found[i].name {
			j++
		}
		group := found[i:j]
		i = j
		if len(group) > 1 && len(group[0].index) == len(group[1].index) && group[0].tagged == group[1].tagged {
			continue // no dominant field
		}
		f := group[0].fieldInfo
		if simpleKey(f.name) {
			f.key = append(appendKey(nil, f.name), ':')
		}
		if off, ok := fieldOffset(t, f.index); ok && f.omitEmpty {
			f.offset, f.empty = off, emptyTestOf(f.info.t)
		}
		out = append(out, f)
	}
	slices.SortFunc(out, func(a, b fieldInfo) int { return slices.Compare(a.index, b.index) })
	return out
}

func hasOption(opts, want string) bool {
	for opts != "" {
		var o string
		o, opts, _ = strings.Cut(opts, ",")
		if o == want {
			return true
		}
	}
	return false
}

// validTag is encoding/json's test of a tag's name.
func validTag(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		switch {
		case strings.ContainsRune("!#$%&()*+-./:;<=>?@[]^_{|}~ ", c):
		case !unicode.IsLetter(c) && !unicode.IsDigit(c):
			return false
		}
	}
	return true
}

// emptyValue is encoding/json's omitempty test.
func emptyValue(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Array, reflect.Map, reflect.Slice, reflect.String:
		return v.Len() == 0
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64, reflect.Interface, reflect.Pointer:
		return v.IsZero()
	}
	return false
}

// zeroValue is encoding/json's omitzero test: the type's IsZero when it
// has one, else the zero value.
func zeroValue(v reflect.Value, how zeroTest) bool {
	type zeroer interface{ IsZero() bool }
	switch how {
	case interfaceIsZero:
		return v.IsNil() || v.Elem().Kind() == reflect.Pointer && v.Elem().IsNil() || v.Interface().(zeroer).IsZero()
	case pointerIsZero:
		return v.IsNil() || v.Interface().(zeroer).IsZero()
	case valueIsZero:
		return v.Interface().(zeroer).IsZero()
	case addrIsZero:
		if !v.CanAddr() {
			c := reflect.New(v.Type()).Elem()
			c.Set(v)
			v = c
		}
		return v.Addr().Interface().(zeroer).IsZero()
	}
	return v.IsZero()
}
