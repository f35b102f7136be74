package wire

import (
	"encoding/binary"
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/proto"
)

// batchOf encodes a batch payload the way clients do.
func batchOf(t testing.TB, msgs ...*SingleMessageMetadata) []byte {
	t.Helper()
	var b []byte
	for _, m := range msgs {
		payload := []byte("value")
		if m.PayloadSize == nil {
			m.PayloadSize = proto.Int32(int32(len(payload)))
		}
		meta, err := proto.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		b = binary.BigEndian.AppendUint32(b, uint32(len(meta)))
		b = append(append(b, meta...), payload[:max(0, min(int(m.GetPayloadSize()), len(payload)))]...)
	}
	return b
}

func TestScanBatch(t *testing.T) {
	for _, tc := range []struct {
		name    string
		payload []byte
		want    []BatchMessage
		wantErr bool
	}{
		{"empty", nil, nil, false},
		{"keys and sequence ids", batchOf(t,
			&SingleMessageMetadata{PartitionKey: proto.String("a"), SequenceId: proto.Uint64(7)},
			&SingleMessageMetadata{PartitionKey: proto.String("b"), OrderingKey: []byte("o"), SequenceId: proto.Uint64(9)},
			&SingleMessageMetadata{NullValue: proto.Bool(true)},
		), []BatchMessage{
			{Key: []byte("a"), SequenceID: 7, HasSequence: true},
			{Key: []byte("o"), SequenceID: 9, HasSequence: true},
			{Null: true},
		}, false},
		{"unknown fields skipped", batchOf(t, &SingleMessageMetadata{
			Properties: []*KeyValue{{Key: proto.String("k"), Value: proto.String("v")}}, EventTime: proto.Uint64(3)}),
			[]BatchMessage{{}}, false},
		{"truncated header", []byte{0, 0}, nil, true},
		{"metadata beyond payload", []byte{0, 0, 0, 9, 1}, nil, true},
		{"message beyond payload", batchOf(t, &SingleMessageMetadata{PayloadSize: proto.Int32(5)})[:8], nil, true},
		{"negative size", batchOf(t, &SingleMessageMetadata{PayloadSize: proto.Int32(-1)}), nil, true},
		{"bad varint", []byte{0, 0, 0, 2, 0x18, 0xff}, nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []BatchMessage
			err := ScanBatch(tc.payload, func(m BatchMessage) { got = append(got, m) })
			if (err != nil) != tc.wantErr {
				t.Fatalf("err %v, want error %v", err, tc.wantErr)
			}
			if tc.wantErr {
				return
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Fatalf("messages (-want +got):\n%s", diff)
			}
		})
	}
}

func TestHighestSequenceID(t *testing.T) {
	for _, tc := range []struct {
		name    string
		payload []byte
		want    uint64
		wantOK  bool
	}{
		{"rising", batchOf(t, &SingleMessageMetadata{SequenceId: proto.Uint64(1 << 28)}, &SingleMessageMetadata{SequenceId: proto.Uint64(2 << 28)}), 2 << 28, true},
		{"not in order", batchOf(t, &SingleMessageMetadata{SequenceId: proto.Uint64(9)}, &SingleMessageMetadata{SequenceId: proto.Uint64(4)}), 9, true},
		{"none carries one", batchOf(t, &SingleMessageMetadata{}), 0, false},
		{"malformed", []byte{0, 0, 0, 9}, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := HighestSequenceID(tc.payload)
			if got != tc.want || ok != tc.wantOK {
				t.Fatalf("got %d, %v; want %d, %v", got, ok, tc.want, tc.wantOK)
			}
		})
	}
}

// FuzzScanBatch feeds arbitrary batch payloads, which come from clients
// and are read for keys and sequence ids: no input may panic, and every key
// lies inside the payload.
func FuzzScanBatch(f *testing.F) {
	f.Add(batchOf(f, &SingleMessageMetadata{PartitionKey: proto.String("a"), SequenceId: proto.Uint64(7)},
		&SingleMessageMetadata{OrderingKey: []byte("o"), NullValue: proto.Bool(true)}))
	f.Add([]byte{0, 0, 0, 2, 0x18, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		total := 0
		err := ScanBatch(b, func(m BatchMessage) { total += len(m.Key) })
		if err == nil && total > len(b) {
			t.Fatalf("keys of %d bytes from %d bytes", total, len(b))
		}
		HighestSequenceID(b)
	})
}

// FuzzScanMetadata feeds arbitrary message metadata, read once per SEND.
func FuzzScanMetadata(f *testing.F) {
	meta, err := proto.Marshal(&MessageMetadata{ProducerName: proto.String("p"), SequenceId: proto.Uint64(1),
		PublishTime: proto.Uint64(2), PartitionKey: proto.String("k"), NumMessagesInBatch: proto.Int32(3)})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(meta)
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ScanMetadata(b)
		if err != nil {
			return
		}
		if len(m.ProducerName)+len(m.Key()) > 2*len(b) {
			t.Fatalf("fields longer than the input")
		}
		// What the full decoder accepts, the scan reads the same way.
		var full MessageMetadata
		if proto.Unmarshal(b, &full) == nil && full.SequenceId != nil && full.GetSequenceId() != m.SequenceID {
			t.Fatalf("sequence id %d, full decode %d", m.SequenceID, full.GetSequenceId())
		}
	})
}
