package kubernetes

import (
	"slices"
	"unsafe"
)

// textChunks hands out room for the text of files from large chunks, one
// file after the other, so that each file's text is written once where it
// stays. Written into a buffer of the writer's and copied out, the text
// of a mesh of thousands of files was copied whole, and each copy was a
// fresh allocation to clear and collect.
type textChunks struct {
	free []byte // the unused end of the current chunk
}

const (
	// textChunkSize is the size of a chunk: a few hundred files of a
	// component each.
	textChunkSize = 1 << 20
	// minTextRoom is the least room a file starts in; a chunk with less
	// left is dropped for a new one. A file that outgrows its room
	// moves to an allocation of its own, as append grows it.
	minTextRoom = 32 << 10
)

// room is where the next file's text goes: append to it, then keep what
// was written.
func (c *textChunks) room() []byte {
	if cap(c.free) < minTextRoom {
		c.free = make([]byte, 0, textChunkSize)
	}
	return c.free[:0]
}

// keep takes text, appended to the last room, out of the free chunk,
// and returns it clipped, so that appending to it copies it rather than
// writing over the next file.
func (c *textChunks) keep(text []byte) []byte {
	if len(text) > 0 && unsafe.SliceData(text) == unsafe.SliceData(c.free) {
		c.free = c.free[len(text):len(text)]
	}
	return slices.Clip(text)
}
