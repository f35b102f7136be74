package wire

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"slices"
	"testing"

	"google.golang.org/protobuf/proto"
)

func sendFrame(t testing.TB) []byte {
	t.Helper()
	pid, seq := uint64(1), uint64(7)
	cmd := &BaseCommand{Type: BaseCommand_SEND.Enum(), Send: &CommandSend{ProducerId: &pid, SequenceId: &seq}}
	name, pt := "p", uint64(1)
	meta, err := proto.Marshal(&MessageMetadata{ProducerName: &name, SequenceId: &seq, PublishTime: &pt, PartitionKey: proto.String("k")})
	if err != nil {
		t.Fatal(err)
	}
	b, err := AppendPayloadFrame(nil, cmd, meta, []byte("hello"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func pingFrame(t testing.TB) []byte {
	b, err := AppendCommand(nil, &BaseCommand{Type: BaseCommand_PING.Enum(), Ping: &CommandPing{}})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// badMagic is a ping frame followed by a payload section with a wrong magic.
func badMagic(t testing.TB) []byte {
	ping := pingFrame(t)
	cmd := ping[8:]
	b := binary.BigEndian.AppendUint32(nil, uint32(4+len(cmd)+2+4+4+1))
	b = binary.BigEndian.AppendUint32(b, uint32(len(cmd)))
	b = append(b, cmd...)
	return append(b, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 1, 0)
}

func TestDecodeFrame(t *testing.T) {
	good := sendFrame(t)
	corrupt := bytes.Clone(good)
	corrupt[len(corrupt)-1] ^= 0xff
	oversized := binary.BigEndian.AppendUint32(nil, 1<<30)
	oversized = append(oversized, make([]byte, 8)...)
	for _, tc := range []struct {
		name    string
		in      []byte
		wantErr error
	}{
		{"send", good, nil},
		{"ping", pingFrame(t), nil},
		{"checksum", corrupt, ErrChecksum},
		{"short", []byte{0, 0, 0, 1}, ErrMalformed},
		{"too large", oversized, ErrFrameTooLarge},
		{"command beyond frame", []byte{0, 0, 0, 8, 0, 0, 0, 9, 1, 2, 3, 4}, ErrMalformed},
		{"bad magic", badMagic(t), ErrMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := DecodeFrame(tc.in, DefaultMaxFrameSize)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("err %v, want %v", err, tc.wantErr)
			}
		})
	}
}

func TestSendFrameParts(t *testing.T) {
	f, err := DecodeFrame(sendFrame(t), DefaultMaxFrameSize)
	if err != nil {
		t.Fatal(err)
	}
	if string(f.Payload()) != "hello" {
		t.Fatalf("payload %q", f.Payload())
	}
	m, err := ScanMetadata(f.Metadata())
	if err != nil {
		t.Fatal(err)
	}
	if string(m.ProducerName) != "p" || m.SequenceID != 7 || string(m.Key()) != "k" || m.Batched {
		t.Fatalf("metadata %+v", m)
	}
}

func TestReadFrameRefusesOversize(t *testing.T) {
	r := bufio.NewReader(bytes.NewReader([]byte{0x7f, 0, 0, 0}))
	if _, err := ReadFrame(r, nil, 1024); !errors.Is(err, ErrFrameTooLarge) {
		t.Fatalf("err %v", err)
	}
}

func TestAppendMessageRoundTrip(t *testing.T) {
	f, _ := DecodeFrame(sendFrame(t), DefaultMaxFrameSize)
	out := AppendMessage(nil, 3, MessageID{Ledger: 1, Entry: 42, Partition: 2}, 1, []int64{6, -1}, f.Checksum, f.HeadersAndPayload)
	g, err := DecodeFrame(out, DefaultMaxFrameSize)
	if err != nil {
		t.Fatal(err)
	}
	var cmd BaseCommand
	if err := proto.Unmarshal(g.Command, &cmd); err != nil {
		t.Fatal(err)
	}
	m := cmd.GetMessage()
	if cmd.GetType() != BaseCommand_MESSAGE || m.GetConsumerId() != 3 || m.GetMessageId().GetEntryId() != 42 ||
		m.GetMessageId().GetPartition() != 2 || m.GetRedeliveryCount() != 1 || !slices.Equal(m.GetAckSet(), []int64{6, -1}) {
		t.Fatalf("decoded %v", &cmd)
	}
	r := AppendSendReceipt(nil, 1, 7, 9, MessageID{Ledger: 1, Entry: 5, Partition: -1})
	g, err = DecodeFrame(r, DefaultMaxFrameSize)
	if err != nil {
		t.Fatal(err)
	}
	cmd.Reset()
	if err := proto.Unmarshal(g.Command, &cmd); err != nil {
		t.Fatal(err)
	}
	if sr := cmd.GetSendReceipt(); sr.GetSequenceId() != 7 || sr.GetHighestSequenceId() != 9 || sr.GetMessageId().GetEntryId() != 5 {
		t.Fatalf("decoded %v", &cmd)
	}
}

// FuzzDecodeFrame feeds arbitrary bytes through everything the broker does
// with a frame before acting on it: no input may panic.
func FuzzDecodeFrame(f *testing.F) {
	f.Add(sendFrame(f))
	f.Add(pingFrame(f))
	f.Add([]byte{0, 0, 0, 4, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		fr, err := DecodeFrame(b, 1<<20)
		if err != nil && !errors.Is(err, ErrChecksum) {
			return
		}
		var cmd BaseCommand
		_ = proto.Unmarshal(fr.Command, &cmd)
		if fr.HasPayload {
			m, err := ScanMetadata(fr.Metadata())
			_ = fr.Payload()
			if err == nil && m.Batched {
				_ = ScanBatch(fr.Payload(), func(BatchMessage) {})
			}
		}
		_, _ = ReadFrame(bufio.NewReader(bytes.NewReader(b)), nil, 1<<20)
	})
}

// TestReadFrameReservesWhatArrives: a header announcing a large frame
// followed by a few bytes reserves about what arrived, not the size
// announced, so half frames cannot exhaust memory.
func TestReadFrameReservesWhatArrives(t *testing.T) {
	in := binary.BigEndian.AppendUint32(nil, 5<<20)
	in = append(in, make([]byte, 10)...)
	buf, err := ReadFrame(bufio.NewReader(bytes.NewReader(in)), nil, DefaultMaxFrameSize)
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("err %v, want %v", err, io.ErrUnexpectedEOF)
	}
	if cap(buf) > 2*readStep {
		t.Fatalf("a 5 MiB header and 10 bytes reserved %d bytes", cap(buf))
	}
	// A whole large frame still reads.
	whole := binary.BigEndian.AppendUint32(nil, 1<<20)
	whole = append(whole, bytes.Repeat([]byte{7}, 1<<20)...)
	buf, err = ReadFrame(bufio.NewReader(bytes.NewReader(whole)), buf, DefaultMaxFrameSize)
	if err != nil || !bytes.Equal(buf, whole) {
		t.Fatalf("a 1 MiB frame: %d bytes, %v", len(buf), err)
	}
}
