package broker

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"sync"

	"google.golang.org/protobuf/proto"

	"github.com/meshc/meshc/broker/internal/wire"
)

const (
	serverVersion   = "meshc-broker"
	protocolVersion = 20
)

type producer struct {
	id    uint64
	name  string
	topic *topic
}

// conn is one client connection. Its read loop handles commands in order;
// replies and messages are appended to an output buffer that a writer
// goroutine flushes, so many frames share one write call.
type conn struct {
	b   *Broker
	nc  net.Conn
	log *slog.Logger

	wmu     sync.Mutex
	out     []byte
	closed  bool
	flushCh chan struct{}
	done    chan struct{}

	connected bool
	producers map[uint64]*producer // owned by the read loop

	cmu       sync.Mutex
	consumers map[uint64]*consumer
}

func newConn(b *Broker, nc net.Conn) *conn {
	return &conn{
		b: b, nc: nc, log: b.log.With("remote", nc.RemoteAddr().String()),
		flushCh: make(chan struct{}, 1), done: make(chan struct{}),
		producers: map[uint64]*producer{}, consumers: map[uint64]*consumer{},
	}
}

// serve runs the connection until the client leaves, the broker closes, or
// the client sends something the protocol does not allow.
func (c *conn) serve() {
	go c.writeLoop()
	err := c.readLoop()
	switch {
	case errors.Is(err, io.EOF), errors.Is(err, net.ErrClosed):
		c.log.Debug("connection closed")
	default:
		c.log.Warn("closing connection", "reason", err)
	}
	c.shutdown()
}

func (c *conn) readLoop() error {
	max := c.b.cfg.maxFrameSize()
	r := bufio.NewReaderSize(c.nc, 64<<10)
	var buf []byte
	var cmd wire.BaseCommand
	for {
		var err error
		buf, err = wire.ReadFrame(r, buf, max)
		if err != nil {
			return err
		}
		f, err := wire.DecodeFrame(buf, max)
		badChecksum := errors.Is(err, wire.ErrChecksum)
		if err != nil && !badChecksum {
			return err
		}
		if err := proto.Unmarshal(f.Command, &cmd); err != nil {
			return fmt.Errorf("%w: command: %w", wire.ErrMalformed, err)
		}
		if err := c.handle(&cmd, &f, badChecksum); err != nil {
			return err
		}
	}
}

func (c *conn) writeLoop() {
	var spare []byte
	for {
		select {
		case <-c.done:
			return
		case <-c.flushCh:
		}
		c.wmu.Lock()
		buf := c.out
		c.out = spare[:0]
		c.wmu.Unlock()
		if len(buf) > 0 {
			if _, err := c.nc.Write(buf); err != nil {
				c.nc.Close()
				return
			}
		}
		spare = buf
	}
}

func (c *conn) signal() {
	select {
	case c.flushCh <- struct{}{}:
	default:
	}
}

func (c *conn) send(cmd *wire.BaseCommand) {
	c.wmu.Lock()
	if !c.closed {
		var err error
		c.out, err = wire.AppendCommand(c.out, cmd)
		if err != nil {
			c.log.Error("dropping reply", "err", err)
		}
	}
	c.wmu.Unlock()
	c.signal()
}

func (c *conn) queueMessage(consumerID uint64, id wire.MessageID, redeliveries, checksum uint32, data []byte) {
	c.wmu.Lock()
	if !c.closed {
		c.out = wire.AppendMessage(c.out, consumerID, id, redeliveries, checksum, data)
	}
	c.wmu.Unlock()
	c.signal()
}

func (c *conn) sendActiveChange(consumerID uint64, active bool) {
	c.send(&wire.BaseCommand{
		Type:                 wire.BaseCommand_ACTIVE_CONSUMER_CHANGE.Enum(),
		ActiveConsumerChange: &wire.CommandActiveConsumerChange{ConsumerId: &consumerID, IsActive: &active},
	})
}

func (c *conn) sendSuccess(requestID uint64) {
	c.send(&wire.BaseCommand{Type: wire.BaseCommand_SUCCESS.Enum(), Success: &wire.CommandSuccess{RequestId: &requestID}})
}

func (c *conn) sendError(requestID uint64, code wire.ServerError, err error) {
	msg := err.Error()
	c.send(&wire.BaseCommand{Type: wire.BaseCommand_ERROR.Enum(),
		Error: &wire.CommandError{RequestId: &requestID, Error: code.Enum(), Message: &msg}})
}

// shutdown releases everything the connection held: producers go away,
// and consumers' unacknowledged messages go back to their subscriptions.
func (c *conn) shutdown() {
	c.wmu.Lock()
	c.closed = true
	c.out = nil
	c.wmu.Unlock()
	close(c.done)
	c.nc.Close()
	for _, p := range c.producers {
		p.topic.releaseProducer(p.name)
	}
	c.cmu.Lock()
	cs := c.consumers
	c.consumers = map[uint64]*consumer{}
	c.cmu.Unlock()
	for _, cons := range cs {
		c.b.detachConsumer(cons)
	}
	c.b.forgetConn(c)
}

func (c *conn) consumer(id uint64) *consumer {
	c.cmu.Lock()
	defer c.cmu.Unlock()
	return c.consumers[id]
}

// dropConsumer forgets a consumer and reports whether it was there.
func (c *conn) dropConsumer(id uint64) (*consumer, bool) {
	c.cmu.Lock()
	defer c.cmu.Unlock()
	cons, ok := c.consumers[id]
	delete(c.consumers, id)
	return cons, ok
}

// closeConsumer tells the client the broker closed its consumer; the client
// subscribes again.
func (c *conn) closeConsumer(cons *consumer) {
	if _, ok := c.dropConsumer(cons.id); !ok {
		return
	}
	id, req := cons.id, uint64(0)
	c.send(&wire.BaseCommand{Type: wire.BaseCommand_CLOSE_CONSUMER.Enum(),
		CloseConsumer: &wire.CommandCloseConsumer{ConsumerId: &id, RequestId: &req}})
}

// messageIDPosition turns a message id from a client into an entry index;
// the client's "earliest" (-1:-1) and "latest" (max int64) ids map to the
// ends of the topic.
func messageIDPosition(t *topic, id *wire.MessageIdData) uint64 {
	switch {
	case id.GetLedgerId() == math.MaxUint64:
		return 0
	case id.GetLedgerId() >= math.MaxInt64:
		return t.length()
	}
	return id.GetEntryId()
}
