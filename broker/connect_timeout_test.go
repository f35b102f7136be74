package broker

import (
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"
)

// TestConnectTimeout: a socket that never sends CONNECT is closed once the
// connect timeout has passed; clients that do connect are served.
func TestConnectTimeout(t *testing.T) {
	b := startBroker(t, Config{ConnectTimeout: 200 * time.Millisecond})
	c, err := net.Dial("tcp", strings.TrimPrefix(b.URL(), "pulsar://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
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
