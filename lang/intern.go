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
	// shares holds, by slot too, where the text of a literal is kept, for
	// the values that are written alike to share (see Value).
	shares [internSlots]*string
	texts  block[string]
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

// shared returns where a copy of s is kept, the same for each s while its
// slot holds it.
func (in *interner) shared(s string) *string {
	h := maphash.String(internSeed, s) % internSlots
	slot := &in.shares[h]
	if *slot == nil || **slot != s {
		text := &in.slots[h] // as intern does, with one hash for both
		if *text != s {
			*text = string([]byte(s))
		}
		t := alloc(&in.texts)
		*t = *text
		*slot = t
	}
	return *slot
}
