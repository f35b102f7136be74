package lang

import "hash/maphash"

// The parser reads the source in place, without a copy, and keeps none of
// it: the names and literals of the tree are copied out of it, each text
// once per slot of a small table, since most recur (the keys of a body,
// builtin, param, a schema's name). A tree then holds its texts, not the
// whole source, and the source can go once parsed.

// internSlots is the size of the table: the texts that recur in a file
// are few, and a text that misses its slot is only copied again.
const internSlots = 512

var internSeed = maphash.MakeSeed()

// interner hands out copies of texts, one per text while its slot holds it.
type interner struct {
	slots [internSlots]string
	// literals holds, by slot too, the literals that values written
	// alike share (see Value).
	literals [internSlots]*literal
	made     block[literal]
}

// intern returns a copy of s that shares no memory with the source.
func (in *interner) intern(s string) string {
	if s == "" {
		return ""
	}
	slot := &in.slots[maphash.String(internSeed, s)%internSlots]
	if *slot != s {
		*slot = string([]byte(s))
	}
	return *slot
}

// literal returns the literal of the given kind and text s, the same for
// each while its slot holds it.
func (in *interner) literal(kind LitKind, s string) *literal {
	h := maphash.String(internSeed, s) % internSlots
	slot := &in.literals[h]
	if l := *slot; l != nil && l.text == s && l.kind == kind {
		return l
	}
	text := &in.slots[h] // as intern does, with one hash for both
	if *text != s {
		*text = string([]byte(s))
	}
	l := alloc(&in.made)
	*l = literal{kind, *text}
	*slot = l
	return l
}
