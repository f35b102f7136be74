package frame

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Kinds of frame.
const (
	Call   byte = 1 // runtime -> function: one message to handle
	Result byte = 2 // function -> runtime: the outcome of one call
	Query  byte = 3 // function -> runtime: read state while handling a call, with the call's id
	Answer byte = 4 // runtime -> function: what a query read, with the call's id
)

// Tags of fields. A reader skips tags it does not know, so new ones can be
// added without breaking older functions.
const (
	// In a call.
	Payload   byte = 1 // the message's payload, as received
	Key       byte = 2 // the message's key
	Property  byte = 3 // keyed: a property name and its value
	Topic     byte = 4 // the input topic
	MessageID byte = 5 // the message's id, as text
	EventTime byte = 6 // 8 bytes: milliseconds since 1970, when the producer set it

	// In a result. Only a result without Error or BadInput counts: its
	// fields are applied in order once it arrives.
	Output      byte = 16 // a message for the output topic (repeatable)
	Error       byte = 17 // the call failed: the message is retried, then dead-lettered
	PutState    byte = 18 // keyed: set a state key
	DeleteState byte = 19 // keyed, empty value: remove a state key
	IncrCounter byte = 20 // keyed: add the 8-byte signed value to a counter
	Publish     byte = 21 // keyed: a message for another topic, the key naming it
	BadInput    byte = 22 // the input cannot be handled: dead-lettered at once

	// In a query: one of these, naming the key. The answer holds Value
	// (absent when the key is not set), Counter, or Error.
	GetState   byte = 23 // the value of a state key
	GetCounter byte = 24 // the value of a counter
	Value      byte = 25 // in an answer: the key's value
	Counter    byte = 26 // in an answer: 8 bytes, the counter's value
)

// keyed tags carry a name before their value: a 4-byte length, the name,
// then the value to the field's end.
func keyed(tag byte) bool {
	switch tag {
	case Property, PutState, DeleteState, IncrCounter, Publish:
		return true
	}
	return false
}

// MaxSize is the largest frame body either side accepts: well above
// Pulsar's 5 MB message limit, small enough that a corrupt length is caught
// before it is allocated.
const MaxSize = 64 << 20

// headerSize is the kind and the id at the start of every body.
const headerSize = 1 + 8

// Frame is one call or one result.
type Frame struct {
	Kind   byte
	ID     uint64
	Fields []Field
}

// Field is one tagged value; Name is set for keyed tags only.
type Field struct {
	Tag   byte
	Name  string
	Value []byte
}

// Int returns an 8-byte field value as a signed integer.
func (f Field) Int() (int64, bool) {
	if len(f.Value) != 8 {
		return 0, false
	}
	return int64(binary.BigEndian.Uint64(f.Value)), true
}

// IntValue encodes n as the value of an 8-byte field.
func IntValue(n int64) []byte { return binary.BigEndian.AppendUint64(nil, uint64(n)) }

// Append appends f, length first, to b.
func Append(b []byte, f *Frame) []byte {
	start := len(b)
	b = append(b, 0, 0, 0, 0, f.Kind)
	b = binary.BigEndian.AppendUint64(b, f.ID)
	for _, fl := range f.Fields {
		n := len(fl.Value)
		if keyed(fl.Tag) {
			n += 4 + len(fl.Name)
		}
		b = append(b, fl.Tag)
		b = binary.BigEndian.AppendUint32(b, uint32(n))
		if keyed(fl.Tag) {
			b = binary.BigEndian.AppendUint32(b, uint32(len(fl.Name)))
			b = append(b, fl.Name...)
		}
		b = append(b, fl.Value...)
	}
	binary.BigEndian.PutUint32(b[start:], uint32(len(b)-start-4))
	return b
}

// ErrFormat marks bytes that are not a frame: the other side is broken or
// is writing something else (a log line to standard output, say).
var ErrFormat = errors.New("not a meshc frame")

// Read reads one frame. It returns io.EOF when r ends cleanly between
// frames, and an error wrapping ErrFormat when the bytes are not a frame.
func Read(r io.Reader) (*Frame, error) {
	var head [4]byte
	if _, err := io.ReadFull(r, head[:]); err != nil {
		return nil, err
	}
	n := binary.BigEndian.Uint32(head[:])
	if n < headerSize || n > MaxSize {
		return nil, fmt.Errorf("%w: a frame of %d bytes (from %q), not %d to %d", ErrFormat, n, head[:], headerSize, MaxSize)
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(r, body); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, fmt.Errorf("reading a frame of %d bytes: %w", n, err)
	}
	return Decode(body)
}

// Decode reads a frame body: the bytes after the length. Values alias body.
func Decode(body []byte) (*Frame, error) {
	if len(body) < headerSize {
		return nil, fmt.Errorf("%w: %d bytes, a frame has at least %d", ErrFormat, len(body), headerSize)
	}
	f := &Frame{Kind: body[0], ID: binary.BigEndian.Uint64(body[1:headerSize])}
	if f.Kind < Call || f.Kind > Answer {
		return nil, fmt.Errorf("%w: kind %d, want %d (call), %d (result), %d (query) or %d (answer)", ErrFormat, f.Kind, Call, Result, Query, Answer)
	}
	for rest := body[headerSize:]; len(rest) > 0; {
		if len(rest) < 5 {
			return nil, fmt.Errorf("%w: %d bytes left, a field needs at least 5", ErrFormat, len(rest))
		}
		fl := Field{Tag: rest[0]}
		n := binary.BigEndian.Uint32(rest[1:5])
		if uint64(n) > uint64(len(rest)-5) {
			return nil, fmt.Errorf("%w: field %d of %d bytes, %d left", ErrFormat, fl.Tag, n, len(rest)-5)
		}
		v := rest[5 : 5+n : 5+n]
		rest = rest[5+n:]
		if keyed(fl.Tag) {
			if len(v) < 4 || uint64(binary.BigEndian.Uint32(v)) > uint64(len(v)-4) {
				return nil, fmt.Errorf("%w: keyed field %d has no room for its name", ErrFormat, fl.Tag)
			}
			k := binary.BigEndian.Uint32(v)
			fl.Name, v = string(v[4:4+k]), v[4+k:]
		}
		if fl.Tag == IncrCounter || fl.Tag == EventTime || fl.Tag == Counter {
			if len(v) != 8 {
				return nil, fmt.Errorf("%w: field %d holds %d bytes, want 8", ErrFormat, fl.Tag, len(v))
			}
		}
		fl.Value = v
		f.Fields = append(f.Fields, fl)
	}
	return f, nil
}
