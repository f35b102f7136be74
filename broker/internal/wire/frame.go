package wire

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"slices"
)

// Frame layout (all integers big-endian):
//
//	[total size u32][command size u32][BaseCommand]
//	  optionally followed by
//	[magic 0x0e01 u16][crc32c u32][metadata size u32][MessageMetadata][payload]
//
// The checksum covers everything after itself.
const (
	magicCRC32C     = 0x0e01
	magicBrokerMeta = 0x0e02

	// DefaultMaxFrameSize is Pulsar's default maxMessageSize (5 MiB) plus
	// room for the command and metadata.
	DefaultMaxFrameSize = 5*1024*1024 + 10*1024
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Checksum is the CRC32C the protocol uses for metadata and payload.
func Checksum(b []byte) uint32 { return crc32.Checksum(b, castagnoli) }

// Errors of frame decoding. A connection that sees any of them is closed,
// except ErrChecksum, which only fails the one SEND.
var (
	ErrFrameTooLarge = errors.New("frame larger than the limit")
	ErrMalformed     = errors.New("malformed frame")
	ErrChecksum      = errors.New("payload checksum mismatch")
)

// Frame is one decoded frame. Its slices alias the buffer it came from.
type Frame struct {
	Command []byte // marshalled BaseCommand
	// HeadersAndPayload is [metadata size][metadata][payload], exactly the
	// bytes the checksum covers, so it can be stored and forwarded as is.
	HeadersAndPayload []byte
	Checksum          uint32
	HasPayload        bool
}

// Metadata returns the marshalled MessageMetadata of a payload frame.
func (f *Frame) Metadata() []byte {
	n := binary.BigEndian.Uint32(f.HeadersAndPayload)
	return f.HeadersAndPayload[4 : 4+n]
}

// Payload returns the message (or batch) payload of a payload frame.
func (f *Frame) Payload() []byte {
	n := binary.BigEndian.Uint32(f.HeadersAndPayload)
	return f.HeadersAndPayload[4+n:]
}

// ReadFrame reads one whole frame (size prefix included) from r into buf,
// growing it as needed, and refuses frames above maxSize before reading
// their body.
func ReadFrame(r *bufio.Reader, buf []byte, maxSize int) ([]byte, error) {
	var hdr [4]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return buf, err
	}
	size := binary.BigEndian.Uint32(hdr[:])
	if uint64(size) > uint64(maxSize) {
		return buf, fmt.Errorf("%w: %d bytes, limit %d", ErrFrameTooLarge, size, maxSize)
	}
	n := int(size) + 4
	if cap(buf) >= n {
		buf = buf[:n]
		copy(buf, hdr[:])
		return buf, readFull(r, buf[4:])
	}
	// Memory follows the bytes that arrive, not the size announced: a
	// header alone, or a frame cut short, reserves little.
	buf = append(buf[:0], hdr[:]...)
	for len(buf) < n {
		chunk := min(n-len(buf), max(len(buf), readStep))
		buf = slices.Grow(buf, chunk)
		if err := readFull(r, buf[len(buf):len(buf)+chunk]); err != nil {
			return buf, err
		}
		buf = buf[:len(buf)+chunk]
	}
	return buf, nil
}

// readStep is the least a frame's buffer grows by as its bytes arrive.
const readStep = 64 << 10

func readFull(r io.Reader, b []byte) error {
	_, err := io.ReadFull(r, b)
	if errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	return err
}

// DecodeFrame splits a whole frame, size prefix included, into its parts.
// It checks every length against the frame and the checksum of payload
// frames; it never panics on any input.
func DecodeFrame(b []byte, maxSize int) (Frame, error) {
	var f Frame
	if len(b) < 8 {
		return f, fmt.Errorf("%w: %d bytes is shorter than a frame header", ErrMalformed, len(b))
	}
	total := binary.BigEndian.Uint32(b)
	if uint64(total) > uint64(maxSize) {
		return f, fmt.Errorf("%w: %d bytes, limit %d", ErrFrameTooLarge, total, maxSize)
	}
	if uint64(total) != uint64(len(b)-4) {
		return f, fmt.Errorf("%w: total size %d but %d bytes follow", ErrMalformed, total, len(b)-4)
	}
	cmdSize := binary.BigEndian.Uint32(b[4:])
	rest := b[8:]
	if uint64(cmdSize) > uint64(len(rest)) || cmdSize == 0 {
		return f, fmt.Errorf("%w: command size %d does not fit in %d bytes", ErrMalformed, cmdSize, len(rest))
	}
	f.Command = rest[:cmdSize]
	rest = rest[cmdSize:]
	if len(rest) == 0 {
		return f, nil
	}
	return decodePayload(f, rest)
}

func decodePayload(f Frame, rest []byte) (Frame, error) {
	if len(rest) >= 2 && binary.BigEndian.Uint16(rest) == magicBrokerMeta {
		return f, fmt.Errorf("%w: broker entry metadata is not accepted from clients", ErrMalformed)
	}
	if len(rest) < 10 || binary.BigEndian.Uint16(rest) != magicCRC32C {
		return f, fmt.Errorf("%w: payload without checksum magic", ErrMalformed)
	}
	f.HasPayload = true
	f.Checksum = binary.BigEndian.Uint32(rest[2:])
	hp := rest[6:]
	metaSize := binary.BigEndian.Uint32(hp)
	if uint64(metaSize) > uint64(len(hp)-4) || metaSize == 0 {
		return f, fmt.Errorf("%w: metadata size %d does not fit in %d bytes", ErrMalformed, metaSize, len(hp)-4)
	}
	f.HeadersAndPayload = hp
	if Checksum(hp) != f.Checksum {
		return f, ErrChecksum
	}
	return f, nil
}
