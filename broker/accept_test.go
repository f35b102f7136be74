package broker

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"
	plog "github.com/apache/pulsar-client-go/pulsar/log"

	"github.com/meshc/meshc/internal/syncbuf"
)

// childEnv makes the test binary a broker with few file descriptors (see
// TestMain); spareFDs is how many it may open beyond those it has.
const (
	childEnv = "MESHC_BROKER_FD_CHILD"
	spareFDs = 24
)

// acceptFailing is what the broker logs once accepting fails.
const acceptFailing = "accepting connections fails; retrying"

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) != "" {
		os.Exit(fdChild())
	}
	os.Exit(m.Run())
}

// fdChild serves a broker under a low RLIMIT_NOFILE until standard input
// closes, then prints how many accepts failed.
func fdChild() int {
	b, err := New(Config{Listen: "127.0.0.1:0", Logger: slog.New(slog.NewTextHandler(os.Stderr, nil))})
	if err == nil {
		err = b.Start(context.Background())
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	open, _ := os.ReadDir("/proc/self/fd")
	limit := uint64(len(open) + spareFDs)
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &syscall.Rlimit{Cur: limit, Max: limit}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Println(b.URL())
	bufio.NewReader(os.Stdin).ReadString('\n')
	fmt.Println(b.AcceptErrors())
	b.Close()
	return 0
}

// TestAcceptSurvivesRunningOutOfDescriptors fills a broker's file
// descriptors with idle connections, so that accepting fails, frees them,
// and then produces: the broker serves again, and said what happened.
func TestAcceptSurvivesRunningOutOfDescriptors(t *testing.T) {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"=1")
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	var stderr syncbuf.Buffer // read while the child writes it
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	out := bufio.NewReader(stdout)
	url, err := out.ReadString('\n')
	if err != nil {
		t.Fatalf("the child broker did not start: %v\n%s", err, stderr.String())
	}
	url = strings.TrimSpace(url)

	var idle []net.Conn
	for range 3 * spareFDs {
		c, err := net.Dial("tcp", strings.TrimPrefix(url, "pulsar://"))
		if err != nil {
			break // the backlog is full too
		}
		idle = append(idle, c)
	}
	// The broker accepts what it can, then fails: the connections stay
	// until it says so, however long it takes to get there.
	waitFor(t, func() bool { return strings.Contains(stderr.String(), acceptFailing) })
	for _, c := range idle {
		c.Close()
	}

	client, err := pulsar.NewClient(pulsar.ClientOptions{URL: url, Logger: plog.NewLoggerWithSlog(quiet)})
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	p, err := client.CreateProducer(pulsar.ProducerOptions{Topic: uniqueTopic("fds")})
	if err == nil {
		_, err = p.Send(ctx, &pulsar.ProducerMessage{Payload: []byte("x")})
		p.Close()
	}
	if err != nil {
		t.Fatalf("producing after descriptors were freed: %v\nbroker log:\n%s", err, stderr.String())
	}

	stdin.Close()
	line, _ := out.ReadString('\n')
	cmd.Wait()
	if n := strings.TrimSpace(line); n == "0" || n == "" {
		t.Errorf("failed accepts = %q: the test did not exhaust the broker's descriptors (%d idle connections)", n, len(idle))
	}
	for _, want := range []string{acceptFailing, "accepting connections again"} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("the broker log lacks %q:\n%s", want, stderr.String())
		}
	}
}
