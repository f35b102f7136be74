package kubernetes

import (
	"reflect"
	"unsafe"
)

// emptyTest is how a field's omitempty test reads the field's memory in
// place, without a reflect.Value of it: API structs have dozens of
// optional fields, most of them unset, and making a Value of each to
// look at it took much of the time of writing them.
type emptyTest uint8

const (
	emptyByValue   emptyTest = iota // only emptyValue can tell
	emptyNever                      // a struct, or an array with items
	emptyAlways                     // an array of none
	emptyNilWord                    // a pointer or interface: empty when nil
	emptyNilMap                     // a map: empty when nil, else ask emptyValue
	emptyLenWord                    // a string or slice: empty at length 0
	emptyZeroBytes                  // a bool or integer: empty when all bits are 0
)

// emptyTestOf is the emptyTest of fields of type t.
func emptyTestOf(t reflect.Type) emptyTest {
	switch t.Kind() {
	case reflect.Struct:
		return emptyNever
	case reflect.Array:
		if t.Len() == 0 {
			return emptyAlways
		}
		return emptyNever
	case reflect.Pointer, reflect.Interface:
		return emptyNilWord
	case reflect.Map:
		return emptyNilMap
	case reflect.String, reflect.Slice:
		return emptyLenWord
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return emptyZeroBytes
	}
	// Floats too: -0 is empty, though not all its bits are 0.
	return emptyByValue
}

// fieldOffset is the offset of the field at index in struct type t, false
// when the path goes through a pointer (an embedded *T).
func fieldOffset(t reflect.Type, index []int) (uintptr, bool) {
	var off uintptr
	for i, j := range index {
		if t.Kind() != reflect.Struct {
			return 0, false
		}
		sf := t.Field(j)
		off += sf.Offset
		t = sf.Type
		if t.Kind() == reflect.Pointer && i < len(index)-1 {
			return 0, false
		}
	}
	return off, true
}

// emptyAt tells whether f of the struct at base is empty, and whether it
// could tell.
func (f *fieldInfo) emptyAt(base unsafe.Pointer) (empty, known bool) {
	p := unsafe.Add(base, f.offset)
	switch f.empty {
	case emptyNever:
		return false, true
	case emptyAlways:
		return true, true
	case emptyNilWord:
		return *(*unsafe.Pointer)(p) == nil, true
	case emptyNilMap:
		if *(*unsafe.Pointer)(p) == nil {
			return true, true
		}
	case emptyLenWord:
		// A string's and a slice's length are their second word.
		return *(*int)(unsafe.Add(p, unsafe.Sizeof(uintptr(0)))) == 0, true
	case emptyZeroBytes:
		switch f.info.t.Size() {
		case 1:
			return *(*uint8)(p) == 0, true
		case 2:
			return *(*uint16)(p) == 0, true
		case 4:
			return *(*uint32)(p) == 0, true
		case 8:
			return *(*uint64)(p) == 0, true
		}
	}
	return false, false
}
