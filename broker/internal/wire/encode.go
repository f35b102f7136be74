package wire

import (
	"encoding/binary"
	"fmt"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
)

// AppendCommand appends a frame holding cmd and no payload to dst.
func AppendCommand(dst []byte, cmd *BaseCommand) ([]byte, error) {
	start := len(dst)
	dst = append(dst, 0, 0, 0, 0, 0, 0, 0, 0)
	dst, err := proto.MarshalOptions{}.MarshalAppend(dst, cmd)
	if err != nil {
		return dst[:start], fmt.Errorf("marshal %v command: %w", cmd.GetType(), err)
	}
	n := len(dst) - start - 8
	binary.BigEndian.PutUint32(dst[start:], uint32(n+4))
	binary.BigEndian.PutUint32(dst[start+4:], uint32(n))
	return dst, nil
}

// MessageID is a stored entry's position as the protocol names it.
type MessageID struct {
	Ledger, Entry uint64
	Partition     int32 // -1 outside partitioned topics
}

func sizeMessageID(id MessageID) int {
	n := 1 + protowire.SizeVarint(id.Ledger) + 1 + protowire.SizeVarint(id.Entry)
	if id.Partition >= 0 {
		n += 1 + protowire.SizeVarint(uint64(id.Partition))
	}
	return n
}

func appendMessageID(b []byte, id MessageID) []byte {
	b = protowire.AppendTag(b, 1, protowire.VarintType)
	b = protowire.AppendVarint(b, id.Ledger)
	b = protowire.AppendTag(b, 2, protowire.VarintType)
	b = protowire.AppendVarint(b, id.Entry)
	if id.Partition >= 0 {
		b = protowire.AppendTag(b, 3, protowire.VarintType)
		b = protowire.AppendVarint(b, uint64(id.Partition))
	}
	return b
}

// AppendMessage appends a MESSAGE frame that forwards a stored entry. It is
// written by hand because it runs once per delivered entry: no allocation,
// and the stored checksum and bytes go out unchanged.
//
// ackSet, when not nil, is the batch's messages not yet acknowledged (a set
// bit each), which the client delivers alone.
func AppendMessage(dst []byte, consumerID uint64, id MessageID, redeliveries uint32, ackSet []int64, checksum uint32, headersAndPayload []byte) []byte {
	idSize := sizeMessageID(id)
	msgSize := 1 + protowire.SizeVarint(consumerID) + 1 + protowire.SizeBytes(idSize)
	if redeliveries > 0 {
		msgSize += 1 + protowire.SizeVarint(uint64(redeliveries))
	}
	for _, w := range ackSet {
		msgSize += 1 + protowire.SizeVarint(uint64(w))
	}
	cmdSize := 1 + protowire.SizeVarint(uint64(BaseCommand_MESSAGE)) + 1 + protowire.SizeBytes(msgSize)
	total := 4 + cmdSize + 2 + 4 + len(headersAndPayload)

	dst = binary.BigEndian.AppendUint32(dst, uint32(total))
	dst = binary.BigEndian.AppendUint32(dst, uint32(cmdSize))
	dst = protowire.AppendTag(dst, 1, protowire.VarintType)
	dst = protowire.AppendVarint(dst, uint64(BaseCommand_MESSAGE))
	dst = protowire.AppendTag(dst, 9, protowire.BytesType)
	dst = protowire.AppendVarint(dst, uint64(msgSize))
	dst = protowire.AppendTag(dst, 1, protowire.VarintType)
	dst = protowire.AppendVarint(dst, consumerID)
	dst = protowire.AppendTag(dst, 2, protowire.BytesType)
	dst = protowire.AppendVarint(dst, uint64(idSize))
	dst = appendMessageID(dst, id)
	if redeliveries > 0 {
		dst = protowire.AppendTag(dst, 3, protowire.VarintType)
		dst = protowire.AppendVarint(dst, uint64(redeliveries))
	}
	for _, w := range ackSet {
		dst = protowire.AppendTag(dst, 4, protowire.VarintType)
		dst = protowire.AppendVarint(dst, uint64(w))
	}
	dst = binary.BigEndian.AppendUint16(dst, magicCRC32C)
	dst = binary.BigEndian.AppendUint32(dst, checksum)
	return append(dst, headersAndPayload...)
}

// AppendSendReceipt appends a SEND_RECEIPT frame; it runs once per SEND.
func AppendSendReceipt(dst []byte, producerID, sequenceID, highestSequenceID uint64, id MessageID) []byte {
	idSize := sizeMessageID(id)
	rSize := 1 + protowire.SizeVarint(producerID) + 1 + protowire.SizeVarint(sequenceID) +
		1 + protowire.SizeBytes(idSize) + 1 + protowire.SizeVarint(highestSequenceID)
	cmdSize := 1 + protowire.SizeVarint(uint64(BaseCommand_SEND_RECEIPT)) + 1 + protowire.SizeBytes(rSize)

	dst = binary.BigEndian.AppendUint32(dst, uint32(cmdSize+4))
	dst = binary.BigEndian.AppendUint32(dst, uint32(cmdSize))
	dst = protowire.AppendTag(dst, 1, protowire.VarintType)
	dst = protowire.AppendVarint(dst, uint64(BaseCommand_SEND_RECEIPT))
	dst = protowire.AppendTag(dst, 7, protowire.BytesType)
	dst = protowire.AppendVarint(dst, uint64(rSize))
	dst = protowire.AppendTag(dst, 1, protowire.VarintType)
	dst = protowire.AppendVarint(dst, producerID)
	dst = protowire.AppendTag(dst, 2, protowire.VarintType)
	dst = protowire.AppendVarint(dst, sequenceID)
	dst = protowire.AppendTag(dst, 3, protowire.BytesType)
	dst = protowire.AppendVarint(dst, uint64(idSize))
	dst = appendMessageID(dst, id)
	dst = protowire.AppendTag(dst, 4, protowire.VarintType)
	return protowire.AppendVarint(dst, highestSequenceID)
}

// AppendPayloadFrame appends a frame with a command and a payload, computing
// the checksum. Tests use it to play a client.
func AppendPayloadFrame(dst []byte, cmd *BaseCommand, metadata, payload []byte) ([]byte, error) {
	c, err := proto.Marshal(cmd)
	if err != nil {
		return dst, fmt.Errorf("marshal %v command: %w", cmd.GetType(), err)
	}
	hp := binary.BigEndian.AppendUint32(nil, uint32(len(metadata)))
	hp = append(append(hp, metadata...), payload...)
	dst = binary.BigEndian.AppendUint32(dst, uint32(4+len(c)+6+len(hp)))
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(c)))
	dst = append(dst, c...)
	dst = binary.BigEndian.AppendUint16(dst, magicCRC32C)
	dst = binary.BigEndian.AppendUint32(dst, Checksum(hp))
	return append(dst, hp...), nil
}
