package broker

import (
	"bufio"
	"net"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/meshc/meshc/broker/internal/wire"
)

func protoMarshal(m proto.Message) ([]byte, error) { return proto.Marshal(m) }

// frameReader reads broker replies on a raw connection.
type frameReader struct{ r *bufio.Reader }

func newFrameReader(nc net.Conn) *frameReader { return &frameReader{r: bufio.NewReader(nc)} }

func (f *frameReader) next(buf []byte, cmd *wire.BaseCommand) ([]byte, error) {
	buf, err := wire.ReadFrame(f.r, buf, wire.DefaultMaxFrameSize)
	if err != nil {
		return buf, err
	}
	fr, err := wire.DecodeFrame(buf, wire.DefaultMaxFrameSize)
	if err != nil {
		return buf, err
	}
	return buf, proto.Unmarshal(fr.Command, cmd)
}

// rawConnect sends CONNECT on a raw connection, with a token when one is
// given, and returns a reader of the broker's replies.
func rawConnect(t *testing.T, nc net.Conn, token string) *frameReader {
	t.Helper()
	name, version := "raw", int32(protocolVersion)
	connect := &wire.CommandConnect{ClientVersion: &name, ProtocolVersion: &version}
	if token != "" {
		method := "token"
		connect.AuthMethodName, connect.AuthData = &method, []byte(token)
	}
	frame, err := wire.AppendCommand(nil, &wire.BaseCommand{Type: wire.BaseCommand_CONNECT.Enum(), Connect: connect})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := nc.Write(frame); err != nil {
		t.Fatal(err)
	}
	return newFrameReader(nc)
}
