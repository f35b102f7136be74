package broker

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"
	plog "github.com/apache/pulsar-client-go/pulsar/log"

	"github.com/meshc/meshc/broker/internal/wire"
)

// abuseEnv turns TestAbuseFigures on; abuseChildEnv makes
// TestAbuseBrokerChild serve.
const (
	abuseEnv      = "MESHC_ABUSE_FIGURES"
	abuseChildEnv = "MESHC_ABUSE_CHILD"
)

// TestAbuseFigures measures, against brokers with the default limits in
// child processes (so that their descriptors are their own):
//
//   - how many connections it holds: 11,000 raw clients from 11 loopback
//     addresses (127.0.0.2-12) each send CONNECT; those that get
//     CONNECTED are held, the rest are closed by the caps;
//   - the produce-to-receive latency (p50, p99) of a pulsar-client-go
//     producer and consumer sending 500 unbatched messages a second, first
//     alone (the baseline), then while 1,000 abusive connections are open:
//     400 idle ones that never send CONNECT, 300 that send half a CONNECT
//     frame and stall, and 300 that subscribe with a million permits to a
//     topic of 4 MB and never read; each reconnects when the broker closes
//     it.
//
// It prints the figures and asserts nothing about them. It takes a few
// minutes, so it is not part of a plain go test:
//
//	MESHC_ABUSE_FIGURES=1 go test -run TestAbuseFigures -v -timeout 20m ./broker/
func TestAbuseFigures(t *testing.T) {
	if os.Getenv(abuseEnv) == "" {
		t.Skipf("set %s=1 to measure connections held and latency under abuse", abuseEnv)
	}
	child, url := startBrokerChild(t, "TestAbuseBrokerChild", abuseChildEnv+"=1")
	pid := child.Process.Pid
	idle := memStatus(t, pid)
	held, refused := holdConnections(t, strings.TrimPrefix(url, "pulsar://"), 11, 1000)
	atCap := memStatus(t, pid)
	for _, nc := range held {
		nc.Close()
	}
	t.Logf("connections: %d held, %d closed at once by the caps (--max-connections 10000, --max-connections-per-host 1000); broker %s idle, %s holding them",
		len(held), refused, idle, atCap)

	// A broker of its own for the latencies, so that they and its memory
	// owe nothing to the connections above.
	child, url = startBrokerChild(t, "TestAbuseBrokerChild", abuseChildEnv+"=1")
	addr := strings.TrimPrefix(url, "pulsar://")
	pid = child.Process.Pid

	c, err := pulsar.NewClient(pulsar.ClientOptions{URL: url, Logger: plog.NewLoggerWithSlog(quiet), OperationTimeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	flood := uniqueTopic("flood")
	p := mustProducer(t, c, pulsar.ProducerOptions{Topic: flood, DisableBatching: true})
	big := make([]*pulsar.ProducerMessage, 40)
	for i := range big {
		big[i] = &pulsar.ProducerMessage{Payload: make([]byte, 100<<10)}
	}
	sendAll(t, testCtx(t), p, big)

	const n, rate = 5000, 500
	base := measureLatency(t, c, n, rate)
	t.Logf("latency, no abusive connections (baseline): %v; broker %s", base, memStatus(t, pid))

	a := startAbusers(t, addr, flood)
	waitFor(t, func() bool { return a.open.Load() >= 1000 })
	time.Sleep(5 * time.Second) // the slow readers' buffers fill
	abused := measureLatency(t, c, n, rate)
	during := memStatus(t, pid)
	opened := a.dials.Load()
	a.stop()
	t.Logf("latency, 1,000 abusive connections open (400 idle, 300 half frames, 300 slow readers; %d dials in all): %v; broker %s",
		opened, abused, during)
}

// TestAbuseBrokerChild is the broker of TestAbuseFigures's child process,
// with the default limits: it serves until its standard input closes.
func TestAbuseBrokerChild(t *testing.T) {
	if os.Getenv(abuseChildEnv) == "" {
		t.Skip("runs only as TestAbuseFigures's child process")
	}
	b := startBroker(t, Config{})
	fmt.Printf("broker %s\n", b.URL())
	bufio.NewReader(os.Stdin).ReadByte()
}

// dialFrom connects to addr from the loopback address 127.0.0.host.
func dialFrom(addr string, host int) (net.Conn, error) {
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, byte(host))}, Timeout: 10 * time.Second}
	return d.Dial("tcp", addr)
}

// holdConnections opens perHost connections from each of hosts loopback
// addresses, each sending CONNECT, and returns those the broker answered
// with CONNECTED and how many it closed instead.
func holdConnections(t *testing.T, addr string, hosts, perHost int) (held []net.Conn, refused int) {
	t.Helper()
	connect := connectFrame(t)
	var conns []net.Conn
	for h := range hosts {
		for range perHost {
			nc, err := dialFrom(addr, 2+h)
			if err != nil {
				t.Fatalf("dial: %v", err)
			}
			nc.Write(connect)
			conns = append(conns, nc)
		}
	}
	ok := make([]bool, len(conns))
	var wg sync.WaitGroup
	for i, nc := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			nc.SetReadDeadline(time.Now().Add(30 * time.Second))
			var cmd wire.BaseCommand
			_, err := newFrameReader(nc).next(nil, &cmd)
			ok[i] = err == nil && cmd.GetType() == wire.BaseCommand_CONNECTED
		}()
	}
	wg.Wait()
	for i, nc := range conns {
		if ok[i] {
			held = append(held, nc)
			continue
		}
		refused++
		nc.Close()
	}
	return held, refused
}

// latency is the percentiles of produce-to-receive times.
type latency struct{ p50, p99, max time.Duration }

func (l latency) String() string {
	return fmt.Sprintf("p50 %.2f ms, p99 %.2f ms, max %.1f ms", ms(l.p50), ms(l.p99), ms(l.max))
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// measureLatency sends n unbatched messages at rate a second, each
// carrying its send time, and returns the percentiles of the times until
// the consumer received them.
func measureLatency(t *testing.T, c pulsar.Client, n, rate int) latency {
	t.Helper()
	ctx := testCtx(t)
	topic := uniqueTopic("latency")
	cons := mustSubscribe(t, c, pulsar.ConsumerOptions{Topic: topic, SubscriptionName: "s"})
	p := mustProducer(t, c, pulsar.ProducerOptions{Topic: topic, DisableBatching: true})
	go func() {
		tick := time.NewTicker(time.Second / time.Duration(rate))
		defer tick.Stop()
		for range n {
			<-tick.C
			payload := binary.BigEndian.AppendUint64(make([]byte, 0, 100), uint64(time.Now().UnixNano()))
			p.SendAsync(ctx, &pulsar.ProducerMessage{Payload: payload[:100]}, func(pulsar.MessageID, *pulsar.ProducerMessage, error) {})
		}
	}()
	lat := make([]time.Duration, 0, n)
	for len(lat) < n {
		m, err := cons.Receive(ctx)
		if err != nil {
			t.Fatalf("after %d of %d: %v", len(lat), n, err)
		}
		lat = append(lat, time.Duration(time.Now().UnixNano()-int64(binary.BigEndian.Uint64(m.Payload()))))
		cons.Ack(m)
	}
	slices.Sort(lat)
	return latency{p50: lat[n/2], p99: lat[n*99/100], max: lat[n-1]}
}

// abusers keeps abusive connections open, each reconnecting when the
// broker closes it.
type abusers struct {
	open, dials atomic.Int64
	done        chan struct{}
	wg          sync.WaitGroup
	mu          sync.Mutex
	conns       map[net.Conn]bool
}

func startAbusers(t *testing.T, addr, flood string) *abusers {
	a := &abusers{done: make(chan struct{}), conns: map[net.Conn]bool{}}
	connect := connectFrame(t)
	half := connect[:len(connect)/2]
	slow := slowReaderFrames(t, flood)
	for _, k := range []struct {
		n, host int
		first   []byte
		readsOK bool // the broker's close is seen by reading
	}{{400, 2, nil, true}, {300, 3, half, true}, {300, 4, nil, false}} {
		for i := range k.n {
			first := k.first
			if k.host == 4 {
				first = slow(i)
			}
			a.wg.Add(1)
			go a.run(addr, k.host, first, k.readsOK)
		}
	}
	return a
}

// run is one abusive connection: it sends first, then waits for the
// broker to close it (reading, unless it is a slow reader, which only
// waits), and dials again.
func (a *abusers) run(addr string, host int, first []byte, reads bool) {
	defer a.wg.Done()
	for {
		select {
		case <-a.done:
			return
		default:
		}
		nc, err := dialFrom(addr, host)
		if err != nil {
			time.Sleep(100 * time.Millisecond)
			continue
		}
		if !reads {
			nc.(*net.TCPConn).SetReadBuffer(4 << 10)
		}
		a.dials.Add(1)
		a.open.Add(1)
		a.mu.Lock()
		a.conns[nc] = true
		a.mu.Unlock()
		if len(first) > 0 {
			nc.Write(first)
		}
		if reads {
			_, err = io.Copy(io.Discard, nc)
		} else {
			<-a.done
		}
		a.open.Add(-1)
		a.mu.Lock()
		delete(a.conns, nc)
		a.mu.Unlock()
		nc.Close()
		if err != nil && !errors.Is(err, net.ErrClosed) {
			time.Sleep(10 * time.Millisecond)
		}
	}
}

func (a *abusers) stop() {
	close(a.done)
	a.mu.Lock()
	for nc := range a.conns {
		nc.Close()
	}
	a.mu.Unlock()
	a.wg.Wait()
}

// slowReaderFrames returns, for slow reader i, CONNECT, a SUBSCRIBE of its
// own subscription to topic from the earliest message, and a FLOW of a
// million permits.
func slowReaderFrames(t *testing.T, topic string) func(i int) []byte {
	connect := connectFrame(t)
	return func(i int) []byte {
		cid, rid, permits := uint64(1), uint64(1), uint32(1<<20)
		sub := fmt.Sprintf("slow-%d", i)
		earliest := wire.CommandSubscribe_Earliest
		out := append([]byte(nil), connect...)
		for _, cmd := range []*wire.BaseCommand{
			{Type: wire.BaseCommand_SUBSCRIBE.Enum(), Subscribe: &wire.CommandSubscribe{Topic: &topic, Subscription: &sub,
				SubType: wire.CommandSubscribe_Exclusive.Enum(), ConsumerId: &cid, RequestId: &rid, InitialPosition: &earliest}},
			{Type: wire.BaseCommand_FLOW.Enum(), Flow: &wire.CommandFlow{ConsumerId: &cid, MessagePermits: &permits}},
		} {
			var err error
			if out, err = wire.AppendCommand(out, cmd); err != nil {
				t.Fatal(err)
			}
		}
		return out
	}
}
