package wire

import (
	"encoding/binary"
	"fmt"

	"google.golang.org/protobuf/encoding/protowire"
)

// BatchMessage is what the broker reads of one message in a batch.
type BatchMessage struct {
	Key         []byte // the ordering key if set, else the partition key; aliases the payload
	Null        bool   // the message has a null value (a tombstone)
	SequenceID  uint64
	HasSequence bool
}

// ScanBatch calls fn for each message in an uncompressed batch payload:
// repeated [size u32][SingleMessageMetadata][payload]. It checks every
// length against the payload and never panics on any input.
func ScanBatch(payload []byte, fn func(m BatchMessage)) error {
	for len(payload) > 0 {
		if len(payload) < 4 {
			return fmt.Errorf("batch: %w: truncated message header", ErrMalformed)
		}
		n := binary.BigEndian.Uint32(payload)
		payload = payload[4:]
		if uint64(n) > uint64(len(payload)) {
			return fmt.Errorf("batch: %w: message metadata size %d beyond payload", ErrMalformed, n)
		}
		m, size, err := scanSingle(payload[:n])
		if err != nil {
			return err
		}
		payload = payload[n:]
		if size < 0 || int64(size) > int64(len(payload)) {
			return fmt.Errorf("batch: %w: message size %d beyond payload", ErrMalformed, size)
		}
		payload = payload[size:]
		fn(m)
	}
	return nil
}

// HighestSequenceID returns the highest sequence id among the messages of
// an uncompressed batch, and false when none carries one.
func HighestSequenceID(payload []byte) (uint64, bool) {
	var highest uint64
	found := false
	err := ScanBatch(payload, func(m BatchMessage) {
		if m.HasSequence && (!found || m.SequenceID > highest) {
			highest, found = m.SequenceID, true
		}
	})
	return highest, found && err == nil
}

func scanSingle(b []byte) (m BatchMessage, size int32, err error) {
	var partKey, ordKey []byte
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return m, 0, fmt.Errorf("batch message metadata: %w", protowire.ParseError(n))
		}
		b = b[n:]
		switch typ {
		case protowire.VarintType:
			v, n := protowire.ConsumeVarint(b)
			if n < 0 {
				return m, 0, fmt.Errorf("batch message metadata: %w", protowire.ParseError(n))
			}
			b = b[n:]
			switch num {
			case 3:
				size = int32(v)
			case 8:
				m.SequenceID, m.HasSequence = v, true
			case 9:
				m.Null = v != 0
			}
		case protowire.BytesType:
			v, n := protowire.ConsumeBytes(b)
			if n < 0 {
				return m, 0, fmt.Errorf("batch message metadata: %w", protowire.ParseError(n))
			}
			b = b[n:]
			switch num {
			case 2:
				partKey = v
			case 7:
				ordKey = v
			}
		default:
			n := protowire.ConsumeFieldValue(num, typ, b)
			if n < 0 {
				return m, 0, fmt.Errorf("batch message metadata: %w", protowire.ParseError(n))
			}
			b = b[n:]
		}
	}
	m.Key = partKey
	if len(ordKey) > 0 {
		m.Key = ordKey
	}
	return m, size, nil
}
