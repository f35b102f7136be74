package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"
	plog "github.com/apache/pulsar-client-go/pulsar/log"
	"github.com/google/go-cmp/cmp"
)

func TestBrokerCommandErrors(t *testing.T) {
	used, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer used.Close()
	notDir := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(notDir, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name     string
		args     []string
		wantCode int
		wantErr  string
	}{
		{"bad fsync", []string{"broker", "--fsync", "sometimes"}, exitUsage, `--fsync "sometimes": use always, interval or never`},
		{"bad log level", []string{"broker", "--log-level", "loud"}, exitUsage, "--log-level"},
		{"stray argument", []string{"broker", "now"}, exitUsage, "unknown command"},
		{"address in use", []string{"broker", "--listen", used.Addr().String(), "--admin-listen", ""}, exitFail,
			"address already in use; choose another address or stop what uses it"},
		{"admin address in use", []string{"broker", "--listen", "127.0.0.1:0", "--admin-listen", used.Addr().String()}, exitFail,
			"admin listen on " + used.Addr().String()},
		{"data is a file", []string{"broker", "--listen", "127.0.0.1:0", "--admin-listen", "", "--data", notDir}, exitFail,
			"create data directory"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			code := Main(tc.args, strings.NewReader(""), &out, &errOut)
			if code != tc.wantCode || !strings.Contains(errOut.String(), tc.wantErr) {
				t.Fatalf("exit %d, stderr %q; want %d and %q", code, errOut.String(), tc.wantCode, tc.wantErr)
			}
		})
	}
}

// brokerProcess is `meshc broker` running as a process of its own.
type brokerProcess struct {
	cmd    *exec.Cmd
	stderr *bytes.Buffer
	url    string
	admin  string
}

var listening = regexp.MustCompile(`^broker listening on (pulsar://\S+), admin on (http://\S+)$`)

// startBrokerProcess runs meshc broker with args and waits for the line
// that says where it listens.
func startBrokerProcess(t *testing.T, args ...string) *brokerProcess {
	t.Helper()
	cmd := exec.Command("meshc", append([]string{"broker", "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0"}, args...)...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	bp := &brokerProcess{cmd: cmd, stderr: &bytes.Buffer{}}
	cmd.Stderr = bp.stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("start meshc broker: %v", err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	lines := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(stdout).ReadString('\n')
		lines <- strings.TrimSpace(line)
		io.Copy(io.Discard, stdout)
	}()
	select {
	case line := <-lines:
		m := listening.FindStringSubmatch(line)
		if m == nil {
			t.Fatalf("meshc broker printed %q, stderr %s", line, bp.stderr)
		}
		bp.url, bp.admin = m[1], m[2]
	case <-time.After(30 * time.Second):
		t.Fatal("meshc broker did not say where it listens within 30s")
	}
	return bp
}

// stop sends sig and checks that the broker exits 0 after a clean stop.
func (bp *brokerProcess) stop(t *testing.T, sig syscall.Signal) {
	t.Helper()
	if err := bp.cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- bp.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("meshc broker after %v: %v; stderr:\n%s", sig, err, bp.stderr)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("meshc broker did not stop within 30s of %v", sig)
	}
	if !strings.Contains(bp.stderr.String(), "broker stopped") {
		t.Fatalf("no clean stop logged:\n%s", bp.stderr)
	}
}

func pulsarClient(t *testing.T, url string) pulsar.Client {
	t.Helper()
	c, err := pulsar.NewClient(pulsar.ClientOptions{URL: url, OperationTimeout: 10 * time.Second,
		Logger: plog.NewLoggerWithSlog(slog.New(slog.NewTextHandler(io.Discard, nil)))})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestBrokerCommandServes runs `meshc broker --data` as a process, produces
// and consumes through it with pulsar-client-go, stops it with SIGTERM,
// starts it again on the same data and reads the rest, then stops it with
// SIGINT.
func TestBrokerCommandServes(t *testing.T) {
	data := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	const topic = "persistent://public/default/cli"
	want := make([]string, 100)
	for i := range want {
		want[i] = fmt.Sprintf("m-%d", i)
	}
	subscribe := func(c pulsar.Client) pulsar.Consumer {
		cons, err := c.Subscribe(pulsar.ConsumerOptions{Topic: topic, SubscriptionName: "s",
			SubscriptionInitialPosition: pulsar.SubscriptionPositionEarliest})
		if err != nil {
			t.Fatal(err)
		}
		return cons
	}
	read := func(cons pulsar.Consumer, n int) []string {
		var got []string
		for range n {
			m, err := cons.Receive(ctx)
			if err != nil {
				t.Fatalf("after %d messages: %v", len(got), err)
			}
			got = append(got, string(m.Payload()))
			if err := cons.Ack(m); err != nil {
				t.Fatal(err)
			}
		}
		return got
	}

	first := startBrokerProcess(t, "--data", data, "--fsync", "always")
	c := pulsarClient(t, first.url)
	cons := subscribe(c)
	p, err := c.CreateProducer(pulsar.ProducerOptions{Topic: topic})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range want {
		if _, err := p.Send(ctx, &pulsar.ProducerMessage{Payload: []byte(s)}); err != nil {
			t.Fatal(err)
		}
	}
	got := read(cons, 60)
	cons.Close() // flushes the acknowledgements
	c.Close()
	first.stop(t, syscall.SIGTERM)

	second := startBrokerProcess(t, "--data", data)
	c = pulsarClient(t, second.url)
	defer c.Close()
	got = append(got, read(subscribe(c), 40)...)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("messages across a restart (-want +got):\n%s", diff)
	}
	c.Close()
	second.stop(t, syscall.SIGINT)
}

// TestBrokerCommandSurvivesKill: every message acknowledged to a producer
// is in the log before the acknowledgement, so SIGKILL loses none, even
// with --fsync never.
func TestBrokerCommandSurvivesKill(t *testing.T) {
	data := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	const topic = "persistent://public/default/killed"
	first := startBrokerProcess(t, "--data", data, "--fsync", "never")
	c := pulsarClient(t, first.url)
	p, err := c.CreateProducer(pulsar.ProducerOptions{Topic: topic})
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	errs := make(chan error, 1000)
	for i := range 1000 {
		want = append(want, fmt.Sprintf("m-%d", i))
		p.SendAsync(ctx, &pulsar.ProducerMessage{Payload: []byte(want[i])},
			func(_ pulsar.MessageID, _ *pulsar.ProducerMessage, err error) { errs <- err })
	}
	for range 1000 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if err := first.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	first.cmd.Wait()
	go c.Close() // it waits out its operation timeout on the dead connection

	second := startBrokerProcess(t, "--data", data)
	c = pulsarClient(t, second.url)
	defer c.Close()
	cons, err := c.Subscribe(pulsar.ConsumerOptions{Topic: topic, SubscriptionName: "s",
		SubscriptionInitialPosition: pulsar.SubscriptionPositionEarliest})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for range want {
		m, err := cons.Receive(ctx)
		if err != nil {
			t.Fatalf("after %d messages: %v", len(got), err)
		}
		got = append(got, string(m.Payload()))
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("messages after SIGKILL (-want +got):\n%s", diff)
	}
	c.Close()
	second.stop(t, syscall.SIGTERM)
}
