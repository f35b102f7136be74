package kubernetes

import (
	"reflect"
	"unsafe"
)

// sharedTexts keeps the YAML of the values that many objects of one Emit
// share (meshParts, componentParts): each is written once for each
// column it is written at, and copied from then on. Only the values
// added are kept, and they must not change once added; the keys hold
// them, so no other value takes their address while an Emit runs.
type sharedTexts struct {
	texts map[sharedKey]sharedText
	// The buffers of values removed, for the texts of values added
	// after them: a component's values are added and removed in turn,
	// and their texts are alike in size.
	freeTexts  [][]byte
	freePlaces [][]sharedPlace
}

// sharedKey is a value by its address and type, and a slice's length: a
// struct and its first field, or a slice and a shorter one of the same
// array, share an address.
type sharedKey struct {
	p  unsafe.Pointer
	ti *typeInfo
	n  int
}

// sharedText is a value's YAML at each place it was written at.
type sharedText struct {
	at []sharedPlace
}

type sharedPlace struct {
	col       int
	afterDash bool
	null      bool
	text      []byte
}

func newSharedTexts() *sharedTexts {
	return &sharedTexts{texts: map[sharedKey]sharedText{}}
}

// add marks values, pointers, maps or slices, as shared; nil ones and
// nil s are ignored.
func (s *sharedTexts) add(values ...any) {
	if s == nil {
		return
	}
	for _, x := range values {
		if x == nil {
			continue
		}
		v := reflect.ValueOf(x)
		if k, ok := keyOf(v, infoOf(v.Type())); ok {
			s.texts[k] = sharedText{}
		}
	}
}

// remove forgets values added, which are written no more.
func (s *sharedTexts) remove(values ...any) {
	if s == nil {
		return
	}
	for _, x := range values {
		if x == nil {
			continue
		}
		v := reflect.ValueOf(x)
		if k, ok := keyOf(v, infoOf(v.Type())); ok {
			if st, ok := s.texts[k]; ok && st.at != nil {
				for _, p := range st.at {
					s.freeTexts = append(s.freeTexts, p.text[:0])
				}
				s.freePlaces = append(s.freePlaces, st.at[:0])
			}
			delete(s.texts, k)
		}
	}
}

// keyOf is v's sharedKey, false for values that cannot be shared.
func keyOf(v reflect.Value, ti *typeInfo) (sharedKey, bool) {
	switch ti.kind {
	case reflect.Pointer, reflect.Map:
		if v.IsNil() {
			return sharedKey{}, false
		}
		return sharedKey{p: v.UnsafePointer(), ti: ti}, true
	case reflect.Slice:
		if v.IsNil() || v.Len() == 0 {
			return sharedKey{}, false
		}
		return sharedKey{p: v.UnsafePointer(), ti: ti, n: v.Len()}, true
	}
	return sharedKey{}, false
}

// sharedValue writes v when it is shared and says whether it did: from
// its text written before at the same place, or else by value, keeping
// the text.
func (w *yamlWriter) sharedValue(v reflect.Value, ti *typeInfo, col int, afterDash bool) (done, null bool, err error) {
	k, ok := keyOf(v, ti)
	if !ok {
		return false, false, nil
	}
	st, ok := w.shared.texts[k]
	if !ok {
		return false, false, nil
	}
	for _, p := range st.at {
		if p.col == col && p.afterDash == afterDash {
			w.set(append(w.b, p.text...))
			return true, p.null, nil
		}
	}
	start := len(w.b)
	null, err = w.plainValue(v, ti, col, afterDash)
	if err != nil {
		return true, false, err
	}
	if st.at == nil {
		st.at = w.shared.freePlacesBuffer()
	}
	text := append(w.shared.freeText(), w.b[start:]...)
	st.at = append(st.at, sharedPlace{col: col, afterDash: afterDash, null: null, text: text})
	w.shared.texts[k] = st
	return true, null, nil
}

// freeText is the buffer of a text removed, empty, or nil.
func (s *sharedTexts) freeText() []byte { return pop(&s.freeTexts) }

// freePlacesBuffer is the list of places of a value removed, empty, or
// nil.
func (s *sharedTexts) freePlacesBuffer() []sharedPlace { return pop(&s.freePlaces) }

// pop takes the last buffer of a free list, or nil from an empty one.
func pop[T any](free *[][]T) []T {
	n := len(*free)
	if n == 0 {
		return nil
	}
	b := (*free)[n-1]
	*free = (*free)[:n-1]
	return b
}
