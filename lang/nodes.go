package lang

import "unsafe"

// A file's syntax tree is made of many small nodes, which all live as long
// as the tree. The body parser takes them from blocks, a few allocations
// for the whole file instead of one a node: that spares the allocator and
// the collector most of their work, and keeps nothing alive for longer.

// maxBlockBytes bounds the size of one block: 8 KiB, one of the
// allocator's size classes.
const maxBlockBytes = 8 << 10

// mallocHeader is what the allocator puts before an object of more than
// 512 bytes that holds pointers, as nodes do: a block is made 8 bytes
// short of its size class, or it would take the next (128 nodes of 64
// bytes, 8 KiB, took 9.25 KiB).
const mallocHeader = 8

// block hands out values of T from slices allocated a block at a time,
// each twice the size of the last up to maxBlockBytes, so that a small
// tree wastes little.
type block[T any] struct {
	free  []T
	bytes int // the size of the last block, header included
}

// grow starts a new block with room for n values at least.
func (b *block[T]) grow(n int) {
	var zero T
	b.bytes = min(max(2*b.bytes, 64), maxBlockBytes)
	b.free = make([]T, max((b.bytes-mallocHeader)/int(unsafe.Sizeof(zero)), 1, n))
}

// alloc returns a new zero T.
func alloc[T any](b *block[T]) *T {
	if len(b.free) == 0 {
		b.grow(1)
	}
	v := &b.free[0]
	b.free = b.free[1:]
	return v
}

// cut returns a copy of items in a slice of their length (appending to it
// copies it elsewhere), or nil if there are none.
func cut[T any](b *block[T], items []T) []T {
	n := len(items)
	if n == 0 {
		return nil
	}
	if len(b.free) < n {
		b.grow(n)
	}
	s := b.free[:n:n]
	b.free = b.free[n:]
	copy(s, items)
	return s
}

// nodes holds a block for each kind of node the body parser makes.
type nodes struct {
	attrs    block[Attr]
	idents   block[Ident]
	values   block[Value]
	refs     block[Ref]
	refArgs  block[refArgs]
	objects  block[Object]
	lists    block[List]
	args     block[Args]
	types    block[Type]
	fields   block[Field]
	records  block[Record]
	literals block[literal]

	attrSlices  block[*Attr]
	valueSlices block[*Value]
	identSlices block[*Ident]
	typeSlices  block[*Type]
	fieldSlices block[*Field]

	// The items of the lists being read gather on stacks shared by nested
	// lists, so that each list gets one slice of the exact length.
	attrStack  []*Attr
	valueStack []*Value
	identStack []*Ident
	typeStack  []*Type
	fieldStack []*Field

	hand exprParser // the parser of a production participle calls
	// parse is the parse whose trees the nodes lent by handNodes went to.
	parse uint64
}

// gather moves the items pushed on stack since index base into a slice of
// their own, taken from b, and pops them.
func gather[T any](b *block[T], stack *[]T, base int) []T {
	s := cut(b, (*stack)[base:])
	clear((*stack)[base:])
	*stack = (*stack)[:base]
	return s
}
