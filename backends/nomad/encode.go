package nomad

import (
	"cmp"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"
	"unsafe"

	"github.com/hashicorp/nomad/api"

	"github.com/meshc/meshc/internal/jsontext"
)

// The api types say nothing of which fields were set, and their JSON
// spells out every nil and zero. Both encoders walk a job by reflection
// and write only the fields that are set: non-nil pointers (a pointer to
// zero, like count = 0, is a choice) and non-zero values. They write
// straight into one growing buffer; what they need of each struct type
// (names, blocks or attributes, order) is worked out once per type, as
// encoding/json does, since reading tags for every value was most of the
// time spent writing a job.

// typeInfo is what the encoders need of a struct type.
type typeInfo struct {
	attrs    []hclField  // HCL attributes, in declaration order
	blocks   []hclField  // HCL blocks: declaration order, lists of labelled blocks last
	labels   []int       // fields that label the type's block
	untagged []hclField  // exported fields with no HCL form: an error when set
	json     []jsonField // exported fields by JSON name, sorted as encoding/json sorts a map's keys
}

// hclField is a field of a struct and its HCL name (its Go name when it
// has none, for errors).
type hclField struct {
	fieldAt
	name  string
	width int // of the name in columns, for aligning attributes
	memo  int // of a block field: the first of its memosPerField slots in an hclWriter's memos
}

// memosPerField is how many items of a list of blocks are remembered, by
// their place in the list: a job's templates are its own instance plan
// and then the same files of the mesh's pulsar block.
const memosPerField = 8

// memoSlots counts the slots given out to block fields.
var memoSlots atomic.Int64

// jsonField is a field of a struct and its JSON name.
type jsonField struct {
	fieldAt
	name string
	key  string // "name": as written
}

var (
	typeInfos    sync.Map // reflect.Type -> *typeInfo
	durationType = reflect.TypeFor[time.Duration]()
	groupsType   = reflect.TypeFor[[]*api.TaskGroup]()
	jobType      = reflect.TypeFor[api.Job]()
)

// infoOf returns the typeInfo of struct type t, working it out on first
// use.
func infoOf(t reflect.Type) *typeInfo {
	if info, ok := typeInfos.Load(t); ok {
		return info.(*typeInfo)
	}
	info, _ := typeInfos.LoadOrStore(t, newTypeInfo(t))
	return info.(*typeInfo)
}

func newTypeInfo(t reflect.Type) *typeInfo {
	info := &typeInfo{}
	var labelled []hclField
	for i := range t.NumField() {
		sf := t.Field(i)
		if !sf.IsExported() {
			continue
		}
		info.addJSON(i, sf)
		tag, ok := sf.Tag.Lookup("hcl")
		name, kind, _ := strings.Cut(tag, ",")
		f := hclField{fieldAt: newFieldAt(i, sf), name: name, width: utf8.RuneCountInString(name)}
		switch {
		case !ok:
			f.name = sf.Name
			info.untagged = append(info.untagged, f)
		case kind == "label":
			info.labels = append(info.labels, i)
		case t == jobType && name == "id":
			// written as the job block's label
		case kind == "block" && isLabelled(sf.Type):
			f.memo = int(memoSlots.Add(memosPerField) - memosPerField)
			labelled = append(labelled, f)
		case kind == "block":
			f.memo = int(memoSlots.Add(memosPerField) - memosPerField)
			info.blocks = append(info.blocks, f)
		default:
			info.attrs = append(info.attrs, f)
		}
	}
	// A job or group reads its own settings before its parts.
	info.blocks = append(info.blocks, labelled...)
	slices.SortStableFunc(info.json, func(a, b jsonField) int { return cmp.Compare(a.name, b.name) })
	return info
}

// addJSON adds a field under its JSON name, the name in its json tag or
// else its Go name, as encoding/json names it.
func (info *typeInfo) addJSON(i int, sf reflect.StructField) {
	name, _, _ := strings.Cut(sf.Tag.Get("json"), ",")
	if name == "-" {
		return
	}
	name = cmp.Or(name, sf.Name)
	key := jsontext.AppendString(nil, name, false)
	info.json = append(info.json, jsonField{fieldAt: newFieldAt(i, sf), name: name, key: string(key) + ": "})
}

// isLabelled tells whether t is a list of structs with label fields,
// which the HCL of a body lists after its other blocks.
func isLabelled(t reflect.Type) bool {
	if t.Kind() != reflect.Slice {
		return false
	}
	if t = t.Elem(); t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct {
		return false
	}
	for i := range t.NumField() {
		if _, kind, _ := strings.Cut(t.Field(i).Tag.Get("hcl"), ","); kind == "label" {
			return true
		}
	}
	return false
}

// fieldAt is a field of a struct type: its index, and where its bytes are
// and how they tell whether it is set. A job has a few dozen set fields
// among hundreds, and reflecting on each to find them took a fifth of the
// time of writing it.
type fieldAt struct {
	index  int
	offset uintptr
	size   uintptr
	test   setTest
}

// setTest is how a field's bytes tell whether it is set, as isSet does.
type setTest uint8

const (
	testReflect setTest = iota // a map, a struct, an array, a float (-0 is zero): by reflection
	testWord                   // a pointer or interface: its first word is not nil
	testLen                    // a string or slice: its length, the second word, is not 0
	testBytes                  // an integer or bool: a byte is not 0
)

func newFieldAt(i int, sf reflect.StructField) fieldAt {
	f := fieldAt{index: i, offset: sf.Offset, size: sf.Type.Size()}
	switch sf.Type.Kind() {
	case reflect.Pointer, reflect.Interface:
		f.test = testWord
	case reflect.String, reflect.Slice:
		f.test = testLen
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		f.test = testBytes
	}
	return f
}

// structAt is a struct being written, and its address when it has one.
type structAt struct {
	v reflect.Value
	p unsafe.Pointer // nil when v is not addressable
}

func structOf(v reflect.Value) structAt {
	s := structAt{v: v}
	if v.CanAddr() {
		s.p = v.Addr().UnsafePointer()
	}
	return s
}

// isSet tells whether field f of s is set, as isSet does.
func (f *fieldAt) isSet(s structAt) bool {
	if s.p == nil || f.test == testReflect {
		return isSet(s.v.Field(f.index))
	}
	p := unsafe.Add(s.p, f.offset)
	switch f.test {
	case testWord:
		return *(*unsafe.Pointer)(p) != nil
	case testLen:
		return *(*int)(unsafe.Add(p, unsafe.Sizeof(uintptr(0)))) != 0
	}
	for _, c := range unsafe.Slice((*byte)(p), f.size) {
		if c != 0 {
			return true
		}
	}
	return false
}

// isSet tells whether a field's value is set: not nil, not empty, not
// zero.
func isSet(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		return !v.IsNil()
	case reflect.Map, reflect.Slice:
		return v.Len() > 0
	}
	return !v.IsZero()
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

// durationText is Go's duration text without its trailing zero units:
// "5m" rather than "5m0s".
func durationText(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// indent appends depth levels of indent, two spaces each.
func indent(b []byte, depth int) []byte {
	const spaces = "                                "
	for ; depth > len(spaces)/2; depth -= len(spaces) / 2 {
		b = append(b, spaces...)
	}
	return append(b, spaces[:2*depth]...)
}

// growFor makes room in b, when it runs short, for the rest of a list of
// n items, guessed from the done items written from start on: a job's
// groups are alike, and growing the buffer step by step copied it over
// and over. The guess waits for a few items, as the first may be unlike
// the rest (a source before the functions).
func growFor(b []byte, start, done, n int) []byte {
	if done < 8 {
		return b
	}
	need := (len(b) - start) / done * (n - done)
	if cap(b)-len(b) >= need {
		return b
	}
	return grow(b, need*9/8)
}

// groupMaker makes group i of a job as it is written; a writer with one
// sets each of the job's groups before writing it, and clears it after.
type groupMaker func(i int) (*api.TaskGroup, error)

// makes tells whether v is the list of groups that m makes.
func (m groupMaker) makes(v reflect.Value) bool { return m != nil && v.Type() == groupsType }

// make sets item i of the list of groups v.
func (m groupMaker) make(v reflect.Value, i int) error {
	g, err := m(i)
	if err == nil {
		v.Index(i).Set(reflect.ValueOf(g))
	}
	return err
}
