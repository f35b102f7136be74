package frame

import (
	"bytes"
	"encoding/hex"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestRoundTrip(t *testing.T) {
	tests := []struct {
		name  string
		frame Frame
	}{
		{"empty call", Frame{Kind: Call, ID: 1}},
		{"call", Frame{Kind: Call, ID: 1 << 40, Fields: []Field{
			{Tag: Payload, Value: []byte("hello")},
			{Tag: Key, Value: []byte("k")},
			{Tag: Property, Name: "trace", Value: []byte("abc")},
			{Tag: Property, Name: "", Value: []byte("")},
			{Tag: EventTime, Value: IntValue(1700000000000)},
		}}},
		{"result", Frame{Kind: Result, ID: 7, Fields: []Field{
			{Tag: Output, Value: []byte("HELLO")},
			{Tag: Output, Value: nil},
			{Tag: PutState, Name: "last", Value: []byte("HELLO")},
			{Tag: DeleteState, Name: "old"},
			{Tag: IncrCounter, Name: "seen", Value: IntValue(-3)},
			{Tag: Publish, Name: "audit", Value: []byte("{}")},
			{Tag: 200, Value: []byte("a tag from the future")},
		}}},
		{"error", Frame{Kind: Result, ID: 9, Fields: []Field{{Tag: Error, Value: []byte("boom")}}}},
		{"query", Frame{Kind: Query, ID: 7, Fields: []Field{{Tag: GetState, Value: []byte("last")}}}},
		{"answer", Frame{Kind: Answer, ID: 7, Fields: []Field{{Tag: Value, Value: []byte("HELLO")}, {Tag: Counter, Value: IntValue(42)}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := Append(nil, &tt.frame)
			got, err := Read(bytes.NewReader(b))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(&tt.frame, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// TestBytes pins the layout SPEC.md documents, byte for byte, so that the
// helpers in other languages can rely on it.
func TestBytes(t *testing.T) {
	f := &Frame{Kind: Result, ID: 5, Fields: []Field{
		{Tag: Output, Value: []byte("hi")},
		{Tag: IncrCounter, Name: "n", Value: IntValue(2)},
	}}
	want := "00000022" + "02" + "0000000000000005" +
		"10" + "00000002" + "6869" +
		"14" + "0000000d" + "00000001" + "6e" + "0000000000000002"
	if got := hex.EncodeToString(Append(nil, f)); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

func TestReadErrors(t *testing.T) {
	tests := []struct {
		name, hex string
		want      string
	}{
		{"log line on stdout", hex.EncodeToString([]byte("hello world\n")), "a frame of 1751477356 bytes"},
		{"too short", "00000001" + "01", "not 9 to"},
		{"unknown kind", "00000009" + "07" + "0000000000000001", "kind 7"},
		{"answer counter not 8 bytes", "00000010" + "04" + "0000000000000001" + "1a" + "00000002" + "0000", "holds 2 bytes, want 8"},
		{"field past the end", "0000000f" + "01" + "0000000000000001" + "01" + "00000009" + "00", "field 1 of 9 bytes, 1 left"},
		{"field header cut", "0000000b" + "01" + "0000000000000001" + "0100", "a field needs at least 5"},
		{"keyed without a name", "00000010" + "02" + "0000000000000001" + "12" + "00000002" + "0000", "no room for its name"},
		{"name past the end", "00000014" + "02" + "0000000000000001" + "12" + "00000006" + "000000090000", "no room for its name"},
		{"counter not 8 bytes", "00000012" + "02" + "0000000000000001" + "14" + "00000004" + "00000000", "holds 0 bytes, want 8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := hex.DecodeString(tt.hex)
			if err != nil {
				t.Fatal(err)
			}
			_, err = Read(bytes.NewReader(b))
			if !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %v, want ErrFormat saying %q", err, tt.want)
			}
		})
	}
}

func TestReadEnds(t *testing.T) {
	if _, err := Read(bytes.NewReader(nil)); err != io.EOF {
		t.Errorf("empty input: %v, want io.EOF", err)
	}
	b := Append(nil, &Frame{Kind: Call, ID: 1, Fields: []Field{{Tag: Payload, Value: []byte("abc")}}})
	if _, err := Read(bytes.NewReader(b[:len(b)-1])); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("cut frame: %v, want io.ErrUnexpectedEOF", err)
	}
}

// FuzzRead checks that no input makes the decoder panic or allocate
// without bound, and that whatever it accepts it writes back the same.
func FuzzRead(f *testing.F) {
	f.Add(Append(nil, &Frame{Kind: Call, ID: 3, Fields: []Field{{Tag: Payload, Value: []byte("x")}, {Tag: Property, Name: "a", Value: []byte("b")}}}))
	f.Add(Append(nil, &Frame{Kind: Result, ID: 4, Fields: []Field{{Tag: IncrCounter, Name: "n", Value: IntValue(1)}}}))
	f.Add(Append(nil, &Frame{Kind: Query, ID: 5, Fields: []Field{{Tag: GetCounter, Value: []byte("n")}}}))
	f.Add(Append(nil, &Frame{Kind: Answer, ID: 5, Fields: []Field{{Tag: Counter, Value: IntValue(9)}}}))
	f.Add([]byte("hello\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		r := bytes.NewReader(b)
		for {
			fr, err := Read(r)
			if err != nil {
				return
			}
			again, err := Decode(Append(nil, fr)[4:])
			if err != nil {
				t.Fatalf("re-reading %+v: %v", fr, err)
			}
			if diff := cmp.Diff(fr, again, cmpopts.EquateEmpty()); diff != "" {
				t.Fatalf("(-first +again):\n%s", diff)
			}
		}
	})
}
