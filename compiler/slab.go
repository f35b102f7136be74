package compiler

import "unsafe"

// slab hands out short slices cut from shared arrays: a mesh of thousands
// of components made one small array each for its inputs, their places,
// its options' places and its config, and the collector's work grew with
// their number.
type slab[T any] struct {
	free []T // the rest of the current array
	size int // the current array's length
}

// slabMax is the most elements a new array of a slab holds, unless one
// slice needs more; the arrays grow from small, so that a small mesh holds
// little spare.
const slabMax = 256

// take returns an empty slice, never nil, with room for n elements;
// appending past n copies it out, leaving the slab's array alone.
func (s *slab[T]) take(n int) []T {
	if n == 0 {
		return []T{} // empty, not missing; no allocation
	}
	if n > cap(s.free) {
		s.size = min(max(2*s.size, 8), slabMax)
		s.free = make([]T, 0, max(n, s.size))
	}
	out := s.free[:0:n]
	s.free = s.free[n:n:cap(s.free)]
	return out
}

// start returns list, or when it is nil an empty slice with room for one
// element: most of the lists of a topic's readers and writers, and of a
// component's writes, hold one.
func (s *slab[T]) start(list []T) []T {
	if list == nil {
		return s.take(1)
	}
	return list
}

// one returns a new zero T from the slab, for small objects of which a
// large mesh has one a declaration, such as schemas.
func (s *slab[T]) one() *T {
	list := s.take(1)[:1]
	var zero T
	list[0] = zero
	return &list[0]
}

// textSlab makes strings joined from parts in shared arrays: a topic's
// full name and a component's subscription were an allocation each.
type textSlab struct {
	free []byte
}

// textSlabSize is the size of a textSlab's arrays, unless one string needs
// more.
const textSlabSize = 4 << 10

// join returns the parts joined. Its bytes are never written again, so the
// string may share the array.
func (s *textSlab) join(parts ...string) string {
	n := 0
	for _, p := range parts {
		n += len(p)
	}
	if n == 0 {
		return ""
	}
	if n > cap(s.free)-len(s.free) {
		s.free = make([]byte, 0, max(n, textSlabSize))
	}
	start := len(s.free)
	for _, p := range parts {
		s.free = append(s.free, p...)
	}
	return unsafe.String(&s.free[start], n)
}
