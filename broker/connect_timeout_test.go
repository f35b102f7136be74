package broker

import (
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"

	"github.com/meshc/meshc/broker/internal/wire"
)

// connectTimeoutInTest is the broker's connect timeout in
// TestConnectTimeout: pulsar-client-go sends CONNECT as soon as it has
// dialled, and this leaves it ample time to, where 200 ms left little
// under the race detector on a busy machine.
const connectTimeoutInTest = time.Second

// TestConnectTimeout: a socket that never sends CONNECT is closed once the
// connect timeout has passed; clients that do connect are served.
func TestConnectTimeout(t *testing.T) {
	b := startBroker(t, Config{ConnectTimeout: connectTimeoutInTest})
	c, err := net.Dial("tcp", strings.TrimPrefix(b.URL(), "pulsar://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(patience))
	begin := time.Now()
	if _, err := c.Read(make([]byte, 1)); err != io.EOF {
		t.Fatalf("read from a silent connection: %v, want EOF (closed by the broker)", err)
	}
	t.Logf("closed after %s", time.Since(begin).Round(10*time.Millisecond))
	p, err := newClient(t, b).CreateProducer(pulsar.ProducerOptions{Topic: uniqueTopic("connect")})
	if err != nil {
		t.Fatalf("a client that connects at once: %v", err)
	}
	if _, err := p.Send(testCtx(t), &pulsar.ProducerMessage{Payload: []byte("x")}); err != nil {
		t.Fatal(err)
	}
	p.Close()
}

// TestConnectionLimits: connections over the limit per host are closed at
// once and counted; once one closes, another is served.
func TestConnectionLimits(t *testing.T) {
	b := startBroker(t, Config{MaxConnectionsPerHost: 2})
	addr := strings.TrimPrefix(b.URL(), "pulsar://")
	var held []net.Conn
	for range 2 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		held = append(held, c)
	}
	over, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer over.Close()
	over.SetReadDeadline(time.Now().Add(patience))
	if _, err := over.Read(make([]byte, 1)); err != io.EOF {
		t.Fatalf("a third connection from one host: %v, want EOF", err)
	}
	if n := b.RefusedConnections(); n != 1 {
		t.Errorf("refused connections = %d, want 1", n)
	}
	held[0].Close()
	held[1].Close()
	waitFor(t, func() bool { // the broker sees the closes in its own time
		b.mu.Lock()
		defer b.mu.Unlock()
		return len(b.conns) == 0
	})
	p, err := newClient(t, b).CreateProducer(pulsar.ProducerOptions{Topic: uniqueTopic("limits")})
	if err != nil {
		t.Fatalf("a client once the others left: %v", err)
	}
	p.Close()
}

// A client has one keep-alive interval to answer a PING. keepAliveQuick
// closes a silent client soon; keepAliveCalm leaves pulsar-client-go,
// slowed by the race detector on a busy machine, time to answer.
const (
	keepAliveQuick = 100 * time.Millisecond
	keepAliveCalm  = time.Second
)

// TestKeepAlive: a connected client that answers no PING is closed after
// two keep-alive intervals; pulsar-client-go, which answers them, keeps
// its one connection through a quiet spell.
func TestKeepAlive(t *testing.T) {
	b := startBroker(t, Config{KeepAliveInterval: keepAliveQuick})
	nc, err := net.Dial("tcp", b.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(patience))
	fr := rawConnect(t, nc, "")
	var cmd wire.BaseCommand
	var got []wire.BaseCommand_Type
	var buf []byte
	for {
		if buf, err = fr.next(buf, &cmd); err != nil {
			break
		}
		got = append(got, cmd.GetType())
	}
	if !errors.Is(err, io.EOF) || len(got) < 2 || got[0] != wire.BaseCommand_CONNECTED || got[1] != wire.BaseCommand_PING {
		t.Fatalf("a client that answers no PING got %v, then %v; want CONNECTED, PING, then the connection closed", got, err)
	}

	b = startBroker(t, Config{KeepAliveInterval: keepAliveCalm})
	c := newClient(t, b)
	p, err := c.CreateProducer(pulsar.ProducerOptions{Topic: uniqueTopic("keepalive")})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	time.Sleep(3 * keepAliveCalm) // three intervals without a message: PINGs to answer
	if _, err := p.Send(testCtx(t), &pulsar.ProducerMessage{Payload: []byte("x")}); err != nil {
		t.Fatalf("sending after a quiet spell: %v", err)
	}
	b.mu.Lock()
	n := len(b.conns)
	b.mu.Unlock()
	if n != 1 {
		t.Errorf("%d connections after the quiet spell, want the client's one", n)
	}
}
