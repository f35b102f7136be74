package broker

import (
	"encoding/binary"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"
	"github.com/meshc/meshc/broker/internal/wire"
	"github.com/meshc/meshc/internal/syncbuf"
)

func connectFrame(t *testing.T) []byte {
	v, pv := "raw", int32(20)
	b, err := wire.AppendCommand(nil, &wire.BaseCommand{Type: wire.BaseCommand_CONNECT.Enum(),
		Connect: &wire.CommandConnect{ClientVersion: &v, ProtocolVersion: &pv}})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestBadInputClosesOnlyThatConnection(t *testing.T) {
	logs := &syncbuf.Buffer{}
	b := startBroker(t, Config{MaxMessageSize: 64 << 10, Logger: slog.New(slog.NewTextHandler(logs, nil))})
	c := newClient(t, b)
	ctx := testCtx(t)
	topic := uniqueTopic("badinput")
	cons := mustSubscribe(t, c, pulsar.ConsumerOptions{Topic: topic, SubscriptionName: "s"})
	p := mustProducer(t, c, pulsar.ProducerOptions{Topic: topic, DisableBatching: true})

	oversized := binary.BigEndian.AppendUint32(nil, 10<<20)
	for _, tc := range []struct {
		name   string
		input  []byte
		reason string
	}{
		{"oversized frame", oversized, "frame larger than the limit"},
		{"garbage command", append(connectFrame(t), 0, 0, 0, 6, 0, 0, 0, 2, 0xff, 0xff), "malformed frame"},
		{"command before connect", []byte{0, 0, 0, 9, 0, 0, 0, 5, 8, 18, 0x92, 1, 0}, "before CONNECT"},
		{"truncated frame", []byte{0, 0, 0, 100, 1, 2}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			nc, err := net.Dial("tcp", b.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer nc.Close()
			nc.Write(tc.input)
			if tc.name == "truncated frame" {
				nc.(*net.TCPConn).CloseWrite()
			}
			nc.SetReadDeadline(time.Now().Add(patience))
			if _, err := io.Copy(io.Discard, nc); err != nil {
				t.Fatalf("broker did not close the connection: %v", err)
			}
			if tc.reason != "" {
				waitFor(t, func() bool { return strings.Contains(logs.String(), tc.reason) })
			}
			// The well-behaved client on its own connection is unaffected.
			sendAll(t, ctx, p, payloads(tc.name, 1))
			if got := receive(t, ctx, cons, 1); got[0] != tc.name+"-0" {
				t.Fatalf("got %v", got)
			}
		})
	}
}

func TestChecksumMismatchFailsOnlyThatSend(t *testing.T) {
	b := startBroker(t, Config{})
	nc, err := net.Dial("tcp", b.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	topic, pid, rid := uniqueTopic("checksum"), uint64(1), uint64(1)
	prod, err := wire.AppendCommand(nil, &wire.BaseCommand{Type: wire.BaseCommand_PRODUCER.Enum(),
		Producer: &wire.CommandProducer{Topic: &topic, ProducerId: &pid, RequestId: &rid}})
	if err != nil {
		t.Fatal(err)
	}
	seq, name, pt := uint64(0), "x", uint64(1)
	meta, _ := protoMarshal(&wire.MessageMetadata{ProducerName: &name, SequenceId: &seq, PublishTime: &pt})
	send, err := wire.AppendPayloadFrame(nil, &wire.BaseCommand{Type: wire.BaseCommand_SEND.Enum(),
		Send: &wire.CommandSend{ProducerId: &pid, SequenceId: &seq}}, meta, []byte("data"))
	if err != nil {
		t.Fatal(err)
	}
	send[len(send)-1] ^= 1
	nc.Write(append(append(connectFrame(t), prod...), send...))
	nc.SetReadDeadline(time.Now().Add(patience))
	var types []wire.BaseCommand_Type
	buf := make([]byte, 0, 1024)
	r := newFrameReader(nc)
	for len(types) < 3 {
		var cmd wire.BaseCommand
		if buf, err = r.next(buf, &cmd); err != nil {
			t.Fatalf("after %v: %v", types, err)
		}
		types = append(types, cmd.GetType())
	}
	want := []wire.BaseCommand_Type{wire.BaseCommand_CONNECTED, wire.BaseCommand_PRODUCER_SUCCESS, wire.BaseCommand_SEND_ERROR}
	for i := range want {
		if types[i] != want[i] {
			t.Fatalf("replies %v, want %v", types, want)
		}
	}
	if st, _ := b.Stats(topic); st.MsgInCounter != 0 {
		t.Fatalf("corrupt message stored: %+v", st)
	}
}

// TestHalfFramesBeforeConnect: before CONNECT a frame may be no larger
// than a CONNECT needs; a header announcing more closes the connection at
// once instead of reserving its size.
func TestHalfFramesBeforeConnect(t *testing.T) {
	logs := &syncbuf.Buffer{}
	b := startBroker(t, Config{Logger: slog.New(slog.NewTextHandler(logs, nil))})
	r := dialRaw(t, b)
	r.nc.Write(binary.BigEndian.AppendUint32(nil, 5<<20))
	r.nc.SetReadDeadline(time.Now().Add(patience))
	if _, err := io.Copy(io.Discard, r.nc); err != nil {
		t.Fatalf("broker did not close the connection: %v", err)
	}
	waitFor(t, func() bool { return strings.Contains(logs.String(), "frame larger than the limit") })
	checkUnharmed(t, newClient(t, b))
}
