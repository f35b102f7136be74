package broker

import (
	"context"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"
	plog "github.com/apache/pulsar-client-go/pulsar/log"

	"github.com/meshc/meshc/internal/syncbuf"
	"github.com/meshc/meshc/internal/testpki"
)

// refusalTimeout is how long a client that cannot connect may take to say
// so: its OperationTimeout, then slack for its last retry's backoff and a
// busy machine under the race detector. A client that never says so still
// shows.
const (
	refusalOpTimeout = 3 * time.Second
	refusalTimeout   = refusalOpTimeout + 27*time.Second
)

// testPKI is a CA and a server certificate for 127.0.0.1 signed by it.
type testPKI = testpki.PKI

func newTestPKI(t testing.TB) testPKI { return testpki.New(t) }

// refusedProducer creates a producer with a client that must be refused and
// returns the error and the client's log; it fails the test if the refusal
// takes longer than refusalTimeout.
func refusedProducer(t *testing.T, opts pulsar.ClientOptions) (logs string, err error) {
	t.Helper()
	buf := &syncbuf.Buffer{}
	opts.Logger = plog.NewLoggerWithSlog(slog.New(slog.NewTextHandler(buf, nil)))
	opts.OperationTimeout = refusalOpTimeout
	opts.ConnectionTimeout = refusalOpTimeout
	c, err := pulsar.NewClient(opts)
	if err != nil {
		return buf.String(), err
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), refusalTimeout)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		p, err := c.CreateProducer(pulsar.ProducerOptions{Topic: uniqueTopic("refused")})
		if err == nil {
			p.Close()
		}
		done <- err
	}()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("producer created; want the connection refused")
		}
		return buf.String(), err
	case <-ctx.Done():
		t.Fatalf("no error within %s; client log:\n%s", refusalTimeout, buf.String())
		return "", nil
	}
}

func startTLSBroker(t *testing.T, pki testPKI, listen string) *Broker {
	t.Helper()
	return startBroker(t, Config{Listen: listen, TLSListen: "127.0.0.1:0", TLSCertFile: pki.CertFile, TLSKeyFile: pki.KeyFile})
}

func newTLSClient(t *testing.T, url, caFile string) pulsar.Client {
	t.Helper()
	c, err := pulsar.NewClient(pulsar.ClientOptions{
		URL: url, TLSTrustCertsFilePath: caFile, Logger: plog.NewLoggerWithSlog(quiet),
		OperationTimeout: 10 * time.Second, ConnectionTimeout: 5 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// TestTLSProduceConsume produces over pulsar+ssl and consumes both over TLS
// and over the plain listener of the same broker.
func TestTLSProduceConsume(t *testing.T) {
	pki := newTestPKI(t)
	b := startTLSBroker(t, pki, "127.0.0.1:0")
	if !strings.HasPrefix(b.TLSURL(), "pulsar+ssl://127.0.0.1:") || !strings.HasPrefix(b.URL(), "pulsar://") {
		t.Fatalf("URL %q, TLSURL %q", b.URL(), b.TLSURL())
	}
	ctx := testCtx(t)
	topic := uniqueTopic("tls")
	tc := newTLSClient(t, b.TLSURL(), pki.CAFile)
	overTLS := mustSubscribe(t, tc, pulsar.ConsumerOptions{Topic: topic, SubscriptionName: "tls"})
	plain := mustSubscribe(t, newClient(t, b), pulsar.ConsumerOptions{Topic: topic, SubscriptionName: "plain"})
	sendAll(t, ctx, mustProducer(t, tc, pulsar.ProducerOptions{Topic: topic}), payloads("m", 20))
	for name, cons := range map[string]pulsar.Consumer{"tls": overTLS, "plain": plain} {
		if got, want := receive(t, ctx, cons, 20), wantStrings("m", 0, 20); strings.Join(got, ",") != strings.Join(want, ",") {
			t.Fatalf("%s consumer got %v, want %v", name, got, want)
		}
	}
}

// TestTLSOnly serves TLS without a plain listener: URL is the TLS one.
func TestTLSOnly(t *testing.T) {
	pki := newTestPKI(t)
	b := startTLSBroker(t, pki, "")
	if b.Addr() != nil || b.URL() != b.TLSURL() {
		t.Fatalf("Addr %v, URL %q, TLSURL %q; want no plain listener", b.Addr(), b.URL(), b.TLSURL())
	}
	ctx := testCtx(t)
	topic := uniqueTopic("tls-only")
	c := newTLSClient(t, b.URL(), pki.CAFile)
	cons := mustSubscribe(t, c, pulsar.ConsumerOptions{Topic: topic, SubscriptionName: "s"})
	sendAll(t, ctx, mustProducer(t, c, pulsar.ProducerOptions{Topic: topic}), payloads("x", 5))
	receive(t, ctx, cons, 5)
}

// TestTLSUntrustedClient: a client that does not trust the CA fails with
// the certificate problem named.
func TestTLSUntrustedClient(t *testing.T) {
	b := startTLSBroker(t, newTestPKI(t), "")
	logs, err := refusedProducer(t, pulsar.ClientOptions{URL: b.TLSURL()})
	const want = "certificate signed by unknown authority"
	if !strings.Contains(err.Error(), want) && !strings.Contains(logs, want) {
		t.Fatalf("error %v; want %q in it or in the client log:\n%s", err, want, logs)
	}
	t.Logf("client error: %v", err)
}

// TestTLSPlainClientOnTLSPort: a plain client on the TLS port is refused
// quickly instead of hanging.
func TestTLSPlainClientOnTLSPort(t *testing.T) {
	b := startTLSBroker(t, newTestPKI(t), "")
	logs, err := refusedProducer(t, pulsar.ClientOptions{URL: "pulsar://" + b.TLSAddr().String()})
	if want := "this listener serves TLS: connect with " + b.TLSURL(); !strings.Contains(logs, want) {
		t.Fatalf("error %v; want %q in the client log:\n%s", err, want, logs)
	}
}

func TestTLSConfigErrors(t *testing.T) {
	pki := newTestPKI(t)
	for _, tc := range []struct {
		name string
		cfg  Config
		want string
	}{
		{"no key", Config{TLSListen: "127.0.0.1:0", TLSCertFile: pki.CertFile}, "needs both a certificate and a key file"},
		{"no listener", Config{TLSCertFile: pki.CertFile, TLSKeyFile: pki.KeyFile}, "without a TLS listener address"},
	} {
		if _, err := New(tc.cfg); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: New: %v; want %q", tc.name, err, tc.want)
		}
	}
	missing := filepath.Join(t.TempDir(), "missing.pem")
	b, err := New(Config{Listen: "127.0.0.1:0", TLSListen: "127.0.0.1:0", TLSCertFile: missing, TLSKeyFile: pki.KeyFile, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Start(context.Background()); err == nil || !strings.Contains(err.Error(), missing) {
		t.Fatalf("Start with a missing certificate: %v; want the path %s", err, missing)
	}
}
