package broker

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"log/slog"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"
	plog "github.com/apache/pulsar-client-go/pulsar/log"
)

// refusalTimeout is how long a client that cannot connect may take to say
// so: its OperationTimeout, then some slack.
const (
	refusalOpTimeout = 3 * time.Second
	refusalTimeout   = 10 * time.Second
)

// testPKI is a CA and a server certificate for 127.0.0.1 signed by it, as
// PEM files.
type testPKI struct{ caFile, certFile, keyFile string }

func newTestPKI(t testing.TB) testPKI {
	t.Helper()
	dir := t.TempDir()
	caKey, caDER := makeCert(t, &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "meshc test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}, nil, nil)
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatal(err)
	}
	key, der := makeCert(t, &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:    x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}, ca, caKey)
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	p := testPKI{caFile: filepath.Join(dir, "ca.pem"), certFile: filepath.Join(dir, "cert.pem"), keyFile: filepath.Join(dir, "key.pem")}
	writePEM(t, p.caFile, "CERTIFICATE", caDER)
	writePEM(t, p.certFile, "CERTIFICATE", der)
	writePEM(t, p.keyFile, "PRIVATE KEY", keyDER)
	return p
}

// makeCert signs tmpl with parent's key, or itself when parent is nil.
func makeCert(t testing.TB, tmpl, parent *x509.Certificate, parentKey *ecdsa.PrivateKey) (*ecdsa.PrivateKey, []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if parent == nil {
		parent, parentKey = tmpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
	if err != nil {
		t.Fatal(err)
	}
	return key, der
}

func writePEM(t testing.TB, path, typ string, der []byte) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}

// syncBuffer collects a client's log lines from its goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// refusedProducer creates a producer with a client that must be refused and
// returns the error and the client's log; it fails the test if the refusal
// takes longer than refusalTimeout.
func refusedProducer(t *testing.T, opts pulsar.ClientOptions) (error, string) {
	t.Helper()
	logs := &syncBuffer{}
	opts.Logger = plog.NewLoggerWithSlog(slog.New(slog.NewTextHandler(logs, nil)))
	opts.OperationTimeout = refusalOpTimeout
	opts.ConnectionTimeout = refusalOpTimeout
	c, err := pulsar.NewClient(opts)
	if err != nil {
		return err, logs.String()
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
		return err, logs.String()
	case <-ctx.Done():
		t.Fatalf("no error within %s; client log:\n%s", refusalTimeout, logs.String())
		return nil, ""
	}
}

func startTLSBroker(t *testing.T, pki testPKI, listen string) *Broker {
	t.Helper()
	b, err := New(Config{Listen: listen, TLSListen: "127.0.0.1:0", TLSCertFile: pki.certFile, TLSKeyFile: pki.keyFile, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
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
	tc := newTLSClient(t, b.TLSURL(), pki.caFile)
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
	c := newTLSClient(t, b.URL(), pki.caFile)
	cons := mustSubscribe(t, c, pulsar.ConsumerOptions{Topic: topic, SubscriptionName: "s"})
	sendAll(t, ctx, mustProducer(t, c, pulsar.ProducerOptions{Topic: topic}), payloads("x", 5))
	receive(t, ctx, cons, 5)
}

// TestTLSUntrustedClient: a client that does not trust the CA fails with
// the certificate problem named.
func TestTLSUntrustedClient(t *testing.T) {
	b := startTLSBroker(t, newTestPKI(t), "")
	err, logs := refusedProducer(t, pulsar.ClientOptions{URL: b.TLSURL()})
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
	err, logs := refusedProducer(t, pulsar.ClientOptions{URL: "pulsar://" + b.TLSAddr().String()})
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
		{"no key", Config{TLSListen: "127.0.0.1:0", TLSCertFile: pki.certFile}, "needs both a certificate and a key file"},
		{"no listener", Config{TLSCertFile: pki.certFile, TLSKeyFile: pki.keyFile}, "without a TLS listener address"},
	} {
		if _, err := New(tc.cfg); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: New: %v; want %q", tc.name, err, tc.want)
		}
	}
	missing := filepath.Join(t.TempDir(), "missing.pem")
	b, err := New(Config{Listen: "127.0.0.1:0", TLSListen: "127.0.0.1:0", TLSCertFile: missing, TLSKeyFile: pki.keyFile, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Start(context.Background()); err == nil || !strings.Contains(err.Error(), missing) {
		t.Fatalf("Start with a missing certificate: %v; want the path %s", err, missing)
	}
}
