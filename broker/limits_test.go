package broker

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"
	"github.com/google/go-cmp/cmp"

	"github.com/meshc/meshc/broker/internal/wire"
	"github.com/meshc/meshc/internal/syncbuf"
)

// checkUnharmed produces and consumes on a fresh topic through c, which
// uses a connection of its own.
func checkUnharmed(t *testing.T, c pulsar.Client) {
	t.Helper()
	ctx := testCtx(t)
	topic := uniqueTopic("unharmed")
	cons, err := c.Subscribe(pulsar.ConsumerOptions{Topic: topic, SubscriptionName: "s"})
	if err != nil {
		t.Fatalf("other connection cannot subscribe: %v", err)
	}
	defer cons.Close()
	p, err := c.CreateProducer(pulsar.ProducerOptions{Topic: topic})
	if err != nil {
		t.Fatalf("other connection cannot produce: %v", err)
	}
	defer p.Close()
	sendAll(t, ctx, p, payloads("ok", 10))
	if diff := cmp.Diff(wantStrings("ok", 0, 10), receive(t, ctx, cons, 10)); diff != "" {
		t.Fatalf("other connection (-want +got):\n%s", diff)
	}
}

func TestProducersPerConnectionLimit(t *testing.T) {
	b := startBroker(t, Config{MaxProducersPerConn: 2})
	c := newClient(t, b) // one client, one connection
	topic := uniqueTopic("producer-limit")
	mustProducer(t, c, pulsar.ProducerOptions{Topic: topic})
	p2 := mustProducer(t, c, pulsar.ProducerOptions{Topic: topic})
	_, err := c.CreateProducer(pulsar.ProducerOptions{Topic: topic})
	if err == nil || !strings.Contains(err.Error(), "connection has 2 producers, the limit") {
		t.Fatalf("third producer: %v, want the limit named", err)
	}
	checkUnharmed(t, newClient(t, b))
	// Closing one makes room again.
	p2.Close()
	mustProducer(t, c, pulsar.ProducerOptions{Topic: topic})
}

func TestConsumersPerConnectionLimit(t *testing.T) {
	b := startBroker(t, Config{MaxConsumersPerConn: 2})
	c := newClient(t, b)
	topic := uniqueTopic("consumer-limit")
	mustSubscribe(t, c, pulsar.ConsumerOptions{Topic: topic, SubscriptionName: "a"})
	mustSubscribe(t, c, pulsar.ConsumerOptions{Topic: topic, SubscriptionName: "b"})
	_, err := c.Subscribe(pulsar.ConsumerOptions{Topic: topic, SubscriptionName: "c"})
	if err == nil || !strings.Contains(err.Error(), "connection has 2 consumers, the limit") {
		t.Fatalf("third consumer: %v, want the limit named", err)
	}
	checkUnharmed(t, newClient(t, b))
}

// TestUnackedLimit: a consumer that holds MaxUnackedPerConsumer messages
// unacknowledged gets no more, the stats say it is blocked, and the other
// consumer of the Shared subscription, on its own connection, gets the
// rest.
func TestUnackedLimit(t *testing.T) {
	b := startBroker(t, Config{MaxUnackedPerConsumer: 10})
	ctx := testCtx(t)
	topic := uniqueTopic("unacked-limit")
	opts := pulsar.ConsumerOptions{Topic: topic, SubscriptionName: "s", Type: pulsar.Shared, Name: "slow",
		SubscriptionInitialPosition: pulsar.SubscriptionPositionEarliest}
	slow := mustSubscribe(t, newClient(t, b), opts)
	p := mustProducer(t, newClient(t, b), pulsar.ProducerOptions{Topic: topic, DisableBatching: true})
	sendAll(t, ctx, p, payloads("m", 50))

	held := take(t, ctx, slow, 10)
	waitFor(t, func() bool {
		st, err := b.Stats(topic)
		if err != nil || len(st.Subscriptions["s"].Consumers) != 1 {
			return false
		}
		cs := st.Subscriptions["s"].Consumers[0]
		return cs.UnackedMessages == 10 && cs.BlockedConsumerOnUnackedMsgs
	})
	opts.Name = "fast"
	fast := mustSubscribe(t, newClient(t, b), opts)
	if n := len(receive(t, ctx, fast, 40)); n != 40 {
		t.Fatalf("other consumer got %d of 40", n)
	}
	if len(slow.Chan()) != 0 {
		t.Fatalf("blocked consumer was sent %d more", len(slow.Chan()))
	}
	// Acknowledging unblocks it.
	for _, m := range held {
		slow.Ack(m)
	}
	sendAll(t, ctx, p, payloads("n", 40))
	got := 0
	for got < 40 {
		select {
		case m := <-slow.Chan():
			slow.Ack(m)
		case m := <-fast.Chan():
			fast.Ack(m)
		case <-ctx.Done():
			t.Fatalf("received %d of 40 after the acks", got)
		}
		got++
	}
	waitFor(t, func() bool {
		st, _ := b.Stats(topic)
		return st.Subscriptions["s"].MsgBacklog == 0
	})
}

// rawClient is a connection that speaks the protocol by hand.
type rawClient struct {
	t  *testing.T
	nc net.Conn
}

func dialRaw(t *testing.T, b *Broker) *rawClient {
	t.Helper()
	nc, err := net.Dial("tcp", b.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	return &rawClient{t: t, nc: nc}
}

func (r *rawClient) frame(cmd *wire.BaseCommand) []byte {
	b, err := wire.AppendCommand(nil, cmd)
	if err != nil {
		r.t.Fatal(err)
	}
	return b
}

func (r *rawClient) sendFrame(producerID, seq uint64, payload []byte) []byte {
	name, pt := "raw", uint64(1)
	meta, err := protoMarshal(&wire.MessageMetadata{ProducerName: &name, SequenceId: &seq, PublishTime: &pt})
	if err != nil {
		r.t.Fatal(err)
	}
	b, err := wire.AppendPayloadFrame(nil, &wire.BaseCommand{Type: wire.BaseCommand_SEND.Enum(),
		Send: &wire.CommandSend{ProducerId: &producerID, SequenceId: &seq}}, meta, payload)
	if err != nil {
		r.t.Fatal(err)
	}
	return b
}

// TestPendingOutputLimit: a client that produces and subscribes on one
// connection but never reads makes the broker stop dispatching to it and
// stop reading from it once MaxPendingBytesPerConn wait, so its writes
// stall; other connections go on, and once it reads, everything arrives.
func TestPendingOutputLimit(t *testing.T) {
	b := startBroker(t, Config{MaxPendingBytesPerConn: 256 << 10})
	topic := uniqueTopic("pending-limit")
	r := &rawClient{t: t} // dialled once the frames are made: under -race that takes longer than ConnectTimeout
	pid, cid, rid, sub, permits := uint64(1), uint64(1), uint64(1), "s", uint32(1<<20)
	earliest := wire.CommandSubscribe_Earliest
	setup := append(connectFrame(t), r.frame(&wire.BaseCommand{Type: wire.BaseCommand_PRODUCER.Enum(),
		Producer: &wire.CommandProducer{Topic: &topic, ProducerId: &pid, RequestId: &rid}})...)
	setup = append(setup, r.frame(&wire.BaseCommand{Type: wire.BaseCommand_SUBSCRIBE.Enum(),
		Subscribe: &wire.CommandSubscribe{Topic: &topic, Subscription: &sub, SubType: wire.CommandSubscribe_Exclusive.Enum(),
			ConsumerId: &cid, RequestId: &rid, InitialPosition: &earliest}})...)
	setup = append(setup, r.frame(&wire.BaseCommand{Type: wire.BaseCommand_FLOW.Enum(),
		Flow: &wire.CommandFlow{ConsumerId: &cid, MessagePermits: &permits}})...)
	const n, size = 400, 100 << 10 // 40 MB, well past the socket buffers
	var sends []byte
	for i := range n {
		sends = append(sends, r.sendFrame(pid, uint64(i), bytes.Repeat([]byte{byte(i)}, size))...)
	}
	r.nc = dialRaw(t, b).nc
	if _, err := r.nc.Write(setup); err != nil {
		t.Fatal(err)
	}
	r.nc.SetWriteDeadline(time.Now().Add(2 * time.Second))
	written, err := r.nc.Write(sends)
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("writing %d bytes to a broker it never reads from: wrote %d, err %v; want a stall", len(sends), written, err)
	}
	if st, _ := b.Stats(topic); st.MsgOutCounter >= n {
		t.Fatalf("broker delivered all %d messages to a connection that reads nothing", st.MsgOutCounter)
	}
	checkUnharmed(t, newClient(t, b))

	// The client catches up: it reads while it writes the rest.
	counts := make(chan map[wire.BaseCommand_Type]int, 1)
	go func() {
		got := map[wire.BaseCommand_Type]int{}
		fr := newFrameReader(r.nc)
		buf := make([]byte, 0, 1<<20)
		r.nc.SetReadDeadline(time.Now().Add(patience))
		for got[wire.BaseCommand_MESSAGE] < n || got[wire.BaseCommand_SEND_RECEIPT] < n {
			var cmd wire.BaseCommand
			var err error
			if buf, err = fr.next(buf, &cmd); err != nil {
				break
			}
			got[cmd.GetType()]++
		}
		counts <- got
	}()
	r.nc.SetWriteDeadline(time.Now().Add(patience))
	if _, err := r.nc.Write(sends[written:]); err != nil {
		t.Fatalf("writing the rest once reading: %v", err)
	}
	got := <-counts
	if got[wire.BaseCommand_MESSAGE] != n || got[wire.BaseCommand_SEND_RECEIPT] != n {
		t.Fatalf("got %v; want %d messages and %d receipts", got, n, n)
	}
}

// TestMessageSizeLimit: pulsar-client-go learns the limit from CONNECTED
// and refuses a larger message itself; a raw frame over the limit closes
// its connection with the reason logged, and nothing else is touched.
func TestMessageSizeLimit(t *testing.T) {
	logs := &syncbuf.Buffer{}
	b := startBroker(t, Config{MaxMessageSize: 64 << 10, Logger: slog.New(slog.NewTextHandler(logs, nil))})
	c := newClient(t, b)
	p := mustProducer(t, c, pulsar.ProducerOptions{Topic: uniqueTopic("size-limit"), DisableBatching: true})
	_, err := p.Send(testCtx(t), &pulsar.ProducerMessage{Payload: make([]byte, 100<<10)})
	if !errors.Is(err, pulsar.ErrMessageTooLarge) {
		t.Fatalf("sending 100 KiB with a 64 KiB limit: %v, want %v", err, pulsar.ErrMessageTooLarge)
	}

	r := dialRaw(t, b)
	huge := binary.BigEndian.AppendUint32(connectFrame(t), 1<<20)
	r.nc.Write(huge)
	r.nc.SetReadDeadline(time.Now().Add(patience))
	if _, err := io.Copy(io.Discard, r.nc); err != nil {
		t.Fatalf("broker did not close the connection: %v", err)
	}
	waitFor(t, func() bool { return strings.Contains(logs.String(), "frame larger than the limit") })
	checkUnharmed(t, c)
}
