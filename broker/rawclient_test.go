package broker

import (
	"bufio"
	"net"

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
