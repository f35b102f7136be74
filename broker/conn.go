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
	"sync/atomic"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/meshc/meshc/broker/internal/wire"
)

const (
	serverVersion   = "meshc-broker"
	protocolVersion = 20
	// writeChunk is the most written in one call, each within
	// Config.WriteTimeout: a slow but reading client is not cut for the
	// size of a burst.
	writeChunk = 256 << 10
	// spareMax is the largest output buffer a connection keeps for reuse.
	spareMax = 16 << 10
	// Reading: the buffers of a connection before and after CONNECT, the
	// largest frame before it (a CONNECT with a token or OAuth2
	// credentials), and the largest frame buffer kept between frames.
	preConnectBuffer   = 4 << 10
	readBuffer         = 64 << 10
	preConnectMaxFrame = 64 << 10
	keptFrameBuffer    = 64 << 10
)

// errSlowReader closes a connection whose client stopped reading.
var errSlowReader = errors.New("slow reader")

// conn is one client connection. Its read loop handles commands in order;
// replies and messages are appended to an output buffer that a writer
// goroutine flushes, so many frames share one write call.
type conn struct {
	b      *Broker
	nc     net.Conn
	log    *slog.Logger
	secure bool   // on the TLS listener
	role   string // the token's subject or the certificate's CN; "" without authentication
	host   string // the client's address, without its port: limits count by it
	// lastRead is when the client last sent a frame (unix nanoseconds),
	// for the keep-alive.
	lastRead atomic.Int64

	wmu      sync.Mutex
	out      []byte
	closed   bool
	stuck    bool       // the writer gave up: nothing queued will be sent
	drained  *sync.Cond // on wmu: the writer wrote some
	inflight int        // capacity of the buffer the writer is writing
	// pending is len(out)+inflight, readable without wmu; paused says a
	// dispatch found it over the limits and waits for the writer.
	pending atomic.Int64
	paused  atomic.Bool
	flushCh chan struct{}
	done    chan struct{}

	connected     bool
	clientVersion string // from CONNECT, for stats

	pmu       sync.Mutex
	producers map[uint64]*producer
	waits     map[uint64]*producer // WaitForExclusive producers not admitted yet
	gone      bool                 // shut down: no producer is added any more

	cmu       sync.Mutex
	consumers map[uint64]*consumer
}

func newConn(b *Broker, nc net.Conn, secure bool) *conn {
	c := &conn{
		b: b, nc: nc, secure: secure, log: b.log.With("remote", nc.RemoteAddr().String()), host: hostOf(nc.RemoteAddr()),
		flushCh: make(chan struct{}, 1), done: make(chan struct{}),
		producers: map[uint64]*producer{}, waits: map[uint64]*producer{}, consumers: map[uint64]*consumer{},
	}
	c.drained = sync.NewCond(&c.wmu)
	return c
}

// serve runs the connection until the client leaves, the broker closes, or
// the client sends something the protocol does not allow.
func (c *conn) serve() {
	// Until CONNECT: a client that says nothing is closed in time.
	deadline := time.Now().Add(c.b.cfg.ConnectTimeout)
	c.nc.SetReadDeadline(deadline)
	if err := c.handshake(); err != nil {
		c.log.Warn("closing connection", "reason", err)
		c.shutdown()
		return
	}
	c.nc.SetReadDeadline(deadline) // the handshake may have cleared it
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
	// Until CONNECT, a connection gets a small read buffer and frames of a
	// CONNECT's size: connections that never get further cost little.
	r := bufio.NewReaderSize(c.nc, preConnectBuffer)
	max := preConnectMaxFrame
	var buf []byte
	var cmd wire.BaseCommand
	for {
		if c.connected && max == preConnectMaxFrame {
			r, max = bufio.NewReaderSize(r, readBuffer), c.b.cfg.maxFrameSize()
		}
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
		c.lastRead.Store(time.Now().UnixNano())
		if err := c.handle(&cmd, &f, badChecksum); err != nil {
			return err
		}
		if r.Buffered() == 0 {
			// Receipts wait for the end of what the client has sent, so
			// a burst of SENDs is answered with one write.
			c.signal()
		}
		c.waitForReader()
		if cap(buf) > keptFrameBuffer {
			buf = nil // a large message's buffer is not kept for good
		}
	}
}

// waitForReader blocks while the connection's output is over its limits
// (see over): a client that sends without reading its replies is slowed to
// the pace at which it reads, instead of growing the broker's memory.
func (c *conn) waitForReader() {
	if !c.over() {
		return
	}
	c.signal() // receipts may be held back for the rest of a burst
	c.wmu.Lock()
	for c.over() && !c.stuck {
		c.drained.Wait()
	}
	c.wmu.Unlock()
}

// over reports output the client has not read beyond what the broker
// allows: more than MaxPendingBytesPerConn on this connection, or any at
// all while every connection together holds more than MaxPendingBytes.
func (c *conn) over() bool {
	n := c.pending.Load()
	return n > int64(c.b.cfg.MaxPendingBytesPerConn) || (n > 0 && c.b.queued.Load() > c.b.cfg.MaxPendingBytes)
}

// backlogged reports output over the limits; dispatch to the connection's
// consumers pauses, and the writer wakes them once it has written some.
func (c *conn) backlogged() bool {
	if !c.over() {
		return false
	}
	// Said before looking again, so a writer that drains in between
	// either sees it and wakes the consumers, or is seen here.
	c.paused.Store(true)
	return c.over()
}

// setQueuedLocked records the memory held for output, for the connection
// and the broker: the buffer being written, whole until it is written, and
// the one filling, by capacity (an empty one is not counted). wmu is held.
func (c *conn) setQueuedLocked() {
	n := int64(c.inflight)
	if len(c.out) > 0 {
		n += int64(cap(c.out))
	}
	c.b.queued.Add(n - c.pending.Swap(n))
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
		if len(buf) > 0 {
			c.inflight = cap(buf)
		}
		c.setQueuedLocked()
		c.wmu.Unlock()
		if len(buf) > 0 {
			if err := c.write(buf); err != nil {
				c.giveUp(err)
				return
			}
		}
		c.wmu.Lock()
		c.inflight = 0
		c.setQueuedLocked()
		c.drained.Broadcast()
		c.wmu.Unlock()
		if c.paused.Swap(false) {
			c.wakeConsumers()
		}
		// A buffer is kept for the next burst only if small: many
		// connections that once had a large burst must not each keep it.
		spare = nil
		if cap(buf) <= spareMax {
			spare = buf
		}
	}
}

// write writes buf a chunk at a time, each within WriteTimeout.
func (c *conn) write(buf []byte) error {
	for len(buf) > 0 {
		c.nc.SetWriteDeadline(time.Now().Add(c.b.cfg.WriteTimeout))
		n, err := c.nc.Write(buf[:min(len(buf), writeChunk)])
		buf = buf[n:]
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			c.b.slowCut.Add(1)
			return fmt.Errorf("%w: the client read nothing for %s with %d bytes waiting for it", errSlowReader, c.b.cfg.WriteTimeout, len(buf))
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// giveUp ends writing: nothing queued will be sent, and the connection is
// closed, which ends its read loop and hands its consumers' messages back.
func (c *conn) giveUp(err error) {
	if errors.Is(err, errSlowReader) {
		c.log.Warn("closing connection", "reason", err)
	}
	c.wmu.Lock()
	c.stuck = true
	c.inflight = 0
	c.setQueuedLocked()
	c.drained.Broadcast()
	c.wmu.Unlock()
	c.nc.Close()
}

// wakeConsumers lets dispatch resume for the connection's consumers.
func (c *conn) wakeConsumers() {
	c.cmu.Lock()
	subs := make([]*subscription, 0, len(c.consumers))
	for _, cons := range c.consumers {
		subs = append(subs, cons.sub)
	}
	c.cmu.Unlock()
	for _, s := range subs {
		s.notify()
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
		c.setQueuedLocked()
	}
	c.wmu.Unlock()
	c.signal()
}

func (c *conn) queueMessage(consumerID uint64, id wire.MessageID, redeliveries uint32, ackSet []int64, checksum uint32, data []byte) {
	c.wmu.Lock()
	if !c.closed {
		c.out = wire.AppendMessage(c.out, consumerID, id, redeliveries, ackSet, checksum, data)
		c.setQueuedLocked()
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
	c.setQueuedLocked() // what the writer holds is counted until it gives up
	c.wmu.Unlock()
	close(c.done)
	c.nc.Close()
	c.pmu.Lock()
	c.gone = true
	held := make([]*producer, 0, len(c.producers)+len(c.waits))
	for _, p := range c.producers {
		held = append(held, p)
	}
	for _, p := range c.waits {
		held = append(held, p)
	}
	c.producers, c.waits = map[uint64]*producer{}, map[uint64]*producer{}
	c.pmu.Unlock()
	for _, p := range held {
		p.topic.releaseProducer(p)
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

// hostOf is an address without its port.
func hostOf(a net.Addr) string {
	if h, _, err := net.SplitHostPort(a.String()); err == nil {
		return h
	}
	return a.String()
}

// keepAlive pings a connected client that has been quiet for the
// keep-alive interval, as Pulsar's brokers do, and closes the connection
// when nothing has come for two intervals: a client that went away
// without closing its socket does not hold its producers, consumers and
// unacknowledged messages for ever.
func (c *conn) keepAlive() {
	every := c.b.cfg.KeepAliveInterval
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-c.done:
			return
		case <-t.C:
		}
		quiet := time.Since(time.Unix(0, c.lastRead.Load()))
		switch {
		case quiet >= 2*every:
			c.log.Warn("closing connection", "reason", fmt.Sprintf("nothing from the client for %s, not even a PONG", quiet.Round(time.Millisecond)))
			c.nc.Close()
			return
		case quiet >= every:
			c.send(&wire.BaseCommand{Type: wire.BaseCommand_PING.Enum(), Ping: &wire.CommandPing{}})
			c.signal()
		}
	}
}
