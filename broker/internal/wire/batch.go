package wire

import (
	"encoding/binary"
	"fmt"

	"google.golang.org/protobuf/encoding/protowire"
)

// ScanBatch calls fn with the key and null flag of each message in an
// uncompressed batch payload: repeated [size u32][SingleMessageMetadata]
// [payload].
func ScanBatch(payload []byte, fn func(key []byte, null bool)) error {
	for len(payload) > 0 {
		if len(payload) < 4 {
			return fmt.Errorf("batch: %w: truncated message header", ErrMalformed)
		}
		n := binary.BigEndian.Uint32(payload)
		payload = payload[4:]
		if uint64(n) > uint64(len(payload)) {
			return fmt.Errorf("batch: %w: message metadata size %d beyond payload", ErrMalformed, n)
		}
		key, size, null, err := scanSingle(payload[:n])
		if err != nil {
			return err
		}
		payload = payload[n:]
		if size < 0 || int64(size) > int64(len(payload)) {
			return fmt.Errorf("batch: %w: message size %d beyond payload", ErrMalformed, size)
		}
		payload = payload[size:]
		fn(key, null)
	}
	return nil
}

func scanSingle(b []byte) (key []byte, size int32, null bool, err error) {
	var partKey, ordKey []byte
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return nil, 0, false, fmt.Errorf("batch message metadata: %w", protowire.ParseError(n))
		}
		b = b[n:]
		switch typ {
		case protowire.VarintType:
			v, n := protowire.ConsumeVarint(b)
			if n < 0 {
				return nil, 0, false, fmt.Errorf("batch message metadata: %w", protowire.ParseError(n))
			}
			b = b[n:]
			switch num {
			case 3:
				size = int32(v)
			case 9:
				null = v != 0
			}
		case protowire.BytesType:
			v, n := protowire.ConsumeBytes(b)
			if n < 0 {
				return nil, 0, false, fmt.Errorf("batch message metadata: %w", protowire.ParseError(n))
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
				return nil, 0, false, fmt.Errorf("batch message metadata: %w", protowire.ParseError(n))
			}
			b = b[n:]
		}
	}
	if len(ordKey) > 0 {
		return ordKey, size, null, nil
	}
	return partKey, size, null, nil
}
