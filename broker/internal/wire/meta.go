package wire

import (
	"fmt"

	"google.golang.org/protobuf/encoding/protowire"
)

// MetaSummary is what the broker needs from a MessageMetadata: read by a
// field scan rather than a full unmarshal because it runs once per SEND.
type MetaSummary struct {
	ProducerName      []byte
	SequenceID        uint64
	PublishTime       uint64
	PartitionKey      []byte
	OrderingKey       []byte
	NumMessages       int32
	Batched           bool // num_messages_in_batch is set: the payload is a batch
	HighestSequenceID uint64
	NullValue         bool
	Compressed        bool
	DeliverAtTime     int64 // unix milliseconds before which the message is not delivered; 0: at once
}

// Key is the key that orders and compacts the entry: the ordering key if
// set, else the partition key.
func (m *MetaSummary) Key() []byte {
	if len(m.OrderingKey) > 0 {
		return m.OrderingKey
	}
	return m.PartitionKey
}

// ScanMetadata reads the fields of MetaSummary from a marshalled
// MessageMetadata. The byte slices alias b.
func ScanMetadata(b []byte) (MetaSummary, error) {
	m := MetaSummary{NumMessages: 1}
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return m, fmt.Errorf("message metadata: %w", protowire.ParseError(n))
		}
		b = b[n:]
		switch {
		case typ == protowire.VarintType:
			v, n := protowire.ConsumeVarint(b)
			if n < 0 {
				return m, fmt.Errorf("message metadata field %d: %w", num, protowire.ParseError(n))
			}
			b = b[n:]
			m.setVarint(num, v)
		case typ == protowire.BytesType:
			v, n := protowire.ConsumeBytes(b)
			if n < 0 {
				return m, fmt.Errorf("message metadata field %d: %w", num, protowire.ParseError(n))
			}
			b = b[n:]
			m.setBytes(num, v)
		default:
			n := protowire.ConsumeFieldValue(num, typ, b)
			if n < 0 {
				return m, fmt.Errorf("message metadata field %d: %w", num, protowire.ParseError(n))
			}
			b = b[n:]
		}
	}
	return m, nil
}

func (m *MetaSummary) setVarint(num protowire.Number, v uint64) {
	switch num {
	case 2:
		m.SequenceID = v
	case 3:
		m.PublishTime = v
	case 8:
		m.Compressed = v != 0
	case 11:
		m.NumMessages = int32(v)
		m.Batched = true
	case 24:
		m.HighestSequenceID = v
	case 19:
		m.DeliverAtTime = int64(v)
	case 25:
		m.NullValue = v != 0
	}
}

func (m *MetaSummary) setBytes(num protowire.Number, v []byte) {
	switch num {
	case 1:
		m.ProducerName = v
	case 6:
		m.PartitionKey = v
	case 18:
		m.OrderingKey = v
	}
}
