package broker

import (
	"bufio"
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"
	plog "github.com/apache/pulsar-client-go/pulsar/log"
)

const (
	mib = 1 << 20
	// backlogMessageSize is the payload of the backlog scenario's
	// messages; pulsar-client-go batches them as it does by default.
	backlogMessageSize = 1 << 10
)

// backlogFigures is what runBacklog measures.
type backlogFigures struct {
	messages, tailMessages int
	tail, produce, drain   time.Duration
}

func rate(msgs int, d time.Duration) string {
	s := d.Seconds()
	return fmt.Sprintf("%.0f msgs/s, %.1f MB/s", float64(msgs)/s, float64(msgs)*backlogMessageSize/s/1e6)
}

func (f backlogFigures) String() string {
	return fmt.Sprintf("tailing consumer (while producing %d messages): %s\n"+
		"produce the rest (%d messages, no consumer): %s\n"+
		"drain %d messages with one consumer: %s (%.2f of the tailing rate)",
		f.tailMessages, rate(f.tailMessages, f.tail),
		f.messages-f.tailMessages, rate(f.messages-f.tailMessages, f.produce),
		f.messages, rate(f.messages, f.drain),
		(float64(f.messages)/f.drain.Seconds())/(float64(f.tailMessages)/f.tail.Seconds()))
}

// runBacklog produces total bytes of 1 KiB messages to a new topic whose
// subscription "drain" consumes none: the first tail bytes while a
// consumer on another subscription keeps up with them, measuring its rate.
// It then calls probe, drains the backlog with one consumer, checking every
// message comes in order, and measures the drain's rate.
func runBacklog(t testing.TB, c pulsar.Client, total, tail int64, probe func()) backlogFigures {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	topic := uniqueTopic("backlog")
	f := backlogFigures{messages: int(total / backlogMessageSize), tailMessages: int(tail / backlogMessageSize)}
	drain := mustSubscribe(t, c, pulsar.ConsumerOptions{Topic: topic, SubscriptionName: "drain",
		SubscriptionInitialPosition: pulsar.SubscriptionPositionEarliest})
	drain.Close()
	tailing := mustSubscribe(t, c, pulsar.ConsumerOptions{Topic: topic, SubscriptionName: "tail"})
	p := mustProducer(t, c, pulsar.ProducerOptions{Topic: topic, SendTimeout: -1})

	start := time.Now()
	done := make(chan error, 1)
	go func() { done <- receiveInOrder(ctx, tailing, 0, f.tailMessages) }()
	produceRange(t, ctx, p, 0, f.tailMessages)
	if err := <-done; err != nil {
		t.Fatalf("tailing consumer: %v", err)
	}
	f.tail = time.Since(start)
	if err := tailing.Unsubscribe(); err != nil { // it holds nothing back
		t.Fatal(err)
	}

	start = time.Now()
	produceRange(t, ctx, p, f.tailMessages, f.messages)
	f.produce = time.Since(start)
	probe()

	start = time.Now()
	drain = mustSubscribe(t, c, pulsar.ConsumerOptions{Topic: topic, SubscriptionName: "drain"})
	if err := receiveInOrder(ctx, drain, 0, f.messages); err != nil {
		t.Fatalf("draining: %v", err)
	}
	f.drain = time.Since(start)
	return f
}

// produceRange sends messages numbered [from, to), each carrying its
// number, and waits for every receipt.
func produceRange(t testing.TB, ctx context.Context, p pulsar.Producer, from, to int) {
	t.Helper()
	var failed atomic.Value
	for i := from; i < to; i++ {
		payload := make([]byte, backlogMessageSize)
		binary.BigEndian.PutUint64(payload, uint64(i))
		p.SendAsync(ctx, &pulsar.ProducerMessage{Payload: payload}, func(_ pulsar.MessageID, _ *pulsar.ProducerMessage, err error) {
			if err != nil {
				failed.Store(err)
			}
		})
	}
	if err := p.FlushWithCtx(ctx); err != nil {
		t.Fatal(err)
	}
	if err, _ := failed.Load().(error); err != nil {
		t.Fatal(err)
	}
}

// receiveInOrder receives and acknowledges the messages numbered [from,
// to), failing on any other.
func receiveInOrder(ctx context.Context, cons pulsar.Consumer, from, to int) error {
	for want := from; want < to; want++ {
		m, err := cons.Receive(ctx)
		if err != nil {
			return fmt.Errorf("waiting for message %d: %w", want, err)
		}
		if got := int(binary.BigEndian.Uint64(m.Payload())); got != want {
			return fmt.Errorf("got message %d, want %d", got, want)
		}
		cons.Ack(m)
	}
	return nil
}

// heapInUse is the live heap after a full collection.
func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// TestBacklogOnDiskMemory is the small, in-process variant of
// TestBigBacklog: a backlog far larger than the read cache lives in the
// log, not the heap, and one consumer drains it from the disk. Its figures
// are logged (go test -v -run TestBacklogOnDiskMemory ./broker/); the
// heap is asserted loosely and no rate at all.
func TestBacklogOnDiskMemory(t *testing.T) {
	total, tail := int64(200*mib), int64(40*mib)
	if raceEnabled {
		total, tail = 48*mib, 8*mib // the race detector makes it ten times slower
	}
	const cache = 16 * mib
	b := startBroker(t, Config{DataDir: t.TempDir(), ReadCacheSize: cache})
	c := newClient(t, b)
	before := heapInUse()
	var after uint64
	f := runBacklog(t, c, total, tail, func() { after = heapInUse() })
	t.Logf("%d MB backlog, %d MiB read cache: live heap %d MiB before producing (baseline), %d MiB with the backlog stored; read cache holds %d MiB\n%v",
		total/1e6, cache/mib, before/mib, after/mib, b.cache.bytes()/mib, f)
	if limit := uint64(cache + 128*mib); after > limit {
		t.Fatalf("live heap %d MiB with a %d MB backlog on disk, want under %d MiB", after/mib, total/1e6, limit/mib)
	}
}

// TestAcknowledgedFreedInMemory: without a data directory, acknowledged
// messages are freed (whole chunks once every subscription is past them),
// so rounds of producing and consuming do not add up.
func TestAcknowledgedFreedInMemory(t *testing.T) {
	const rounds = 3
	perRound := int64(32 * mib)
	if raceEnabled {
		perRound = 8 * mib
	}
	b := startBroker(t, Config{})
	c := newClient(t, b)
	before := heapInUse()
	var heaps []string
	for range rounds {
		runBacklog(t, c, perRound, perRound/4, func() {})
		for _, tp := range b.topicList() {
			waitFor(t, func() bool { return tp.storedSize.Load() <= memChunkBytes })
		}
		heaps = append(heaps, fmt.Sprintf("%d MiB", heapInUse()/mib))
	}
	t.Logf("live heap before (baseline) %d MiB, after each round of %d MiB produced and consumed: %s",
		before/mib, perRound/mib, strings.Join(heaps, ", "))
	// Each topic keeps the chunk being written, a megabyte at most; kept
	// rounds would hold 96 MiB.
	if after := heapInUse(); after > before+uint64(perRound) {
		t.Fatalf("live heap %d MiB after %d rounds of %d MiB, from %d MiB", after/mib, rounds, perRound/mib, before/mib)
	}
}

// bigBacklogEnv turns TestBigBacklog on: MESHC_BIG_BACKLOG=4000 produces
// 4000 MB. It takes minutes, so it is not part of a plain go test.
const bigBacklogEnv = "MESHC_BIG_BACKLOG"

// brokerChildEnv makes TestBrokerChild serve a broker on the data
// directory it names.
const brokerChildEnv = "MESHC_BROKER_CHILD_DATA"

// TestBigBacklog produces a large backlog to a broker running in a child
// process with --data and the default 64 MiB read cache, reporting the
// child's resident memory (VmRSS, and its peak VmHWM) idle as a baseline,
// with the backlog stored, and after draining it, and the drain's rate
// against a tailing consumer's. Run it with
//
//	MESHC_BIG_BACKLOG=4000 go test -run TestBigBacklog -v -timeout 60m ./broker/
func TestBigBacklog(t *testing.T) {
	mb, _ := strconv.Atoi(os.Getenv(bigBacklogEnv))
	if mb <= 0 {
		t.Skipf("set %s to the megabytes to produce, such as 4000", bigBacklogEnv)
	}
	child, url := startBrokerChild(t, "TestBrokerChild", brokerChildEnv+"="+t.TempDir())
	c, err := pulsar.NewClient(pulsar.ClientOptions{URL: url, Logger: plog.NewLoggerWithSlog(quiet), OperationTimeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	idle := memStatus(t, child.Process.Pid)
	var stored string
	total := int64(mb) * 1e6
	f := runBacklog(t, c, total, total/10, func() { stored = memStatus(t, child.Process.Pid) })
	t.Logf("broker child process with --data, 64 MiB read cache, %d MB of 1 KiB messages:\n"+
		"idle (baseline): %s\nwith the backlog stored: %s\nafter draining: %s\n%v",
		mb, idle, stored, memStatus(t, child.Process.Pid), f)
}

// startBrokerChild runs the test named child, which serves a broker, in a
// child process with env added to its environment, and returns it with
// its broker's URL; the child stops when the test ends.
func startBrokerChild(t *testing.T, child, env string) (*exec.Cmd, string) {
	cmd := exec.Command(os.Args[0], "-test.run=^"+child+"$")
	cmd.Env = append(os.Environ(), env)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stdin.Close()
		cmd.Wait()
	})
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		if url, ok := strings.CutPrefix(sc.Text(), "broker "); ok {
			go func() {
				for sc.Scan() {
				}
			}()
			return cmd, url
		}
	}
	t.Fatalf("broker child printed no URL: %v", sc.Err())
	return nil, ""
}

// TestBrokerChild is the broker of TestBigBacklog's child process: it
// serves until its standard input closes.
func TestBrokerChild(t *testing.T) {
	dir := os.Getenv(brokerChildEnv)
	if dir == "" {
		t.Skip("runs only as TestBigBacklog's child process")
	}
	b := startBroker(t, Config{DataDir: dir})
	fmt.Printf("broker %s\n", b.URL())
	bufio.NewReader(os.Stdin).ReadByte()
}

// memStatus reads a process's resident memory and its peak from
// /proc/PID/status.
func memStatus(t testing.TB, pid int) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && (k == "VmRSS" || k == "VmHWM") {
			out = append(out, k+" "+strings.TrimSpace(v))
		}
	}
	return strings.Join(out, ", ")
}

// TestRestartRebuildsIndexOnly: a restart replays the log to rebuild the
// index and the deduplication table without keeping payloads, then serves
// the backlog from the disk.
func TestRestartRebuildsIndexOnly(t *testing.T) {
	total := int64(64 * mib)
	if raceEnabled {
		total = 16 * mib
	}
	cfg := Config{DataDir: t.TempDir()}
	b := startBroker(t, cfg)
	c := newClient(t, b)
	ctx := testCtx(t)
	topic := uniqueTopic("reindex")
	n := int(total / backlogMessageSize)
	mustSubscribe(t, c, pulsar.ConsumerOptions{Topic: topic, SubscriptionName: "s",
		SubscriptionInitialPosition: pulsar.SubscriptionPositionEarliest}).Close()
	produceRange(t, ctx, mustProducer(t, c, pulsar.ProducerOptions{Topic: topic}), 0, n)
	c.Close()
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	before := heapInUse()
	b2 := startBroker(t, cfg)
	after := heapInUse()
	t.Logf("live heap %d MiB before the restart, %d MiB after replaying %d MB", before/mib, after/mib, total/1e6)
	if after > before+16*mib {
		t.Fatalf("restart with %d MB stored took the live heap from %d to %d MiB", total/1e6, before/mib, after/mib)
	}
	cons := mustSubscribe(t, newClient(t, b2), pulsar.ConsumerOptions{Topic: topic, SubscriptionName: "s"})
	if err := receiveInOrder(ctx, cons, 0, n); err != nil {
		t.Fatal(err)
	}
}
