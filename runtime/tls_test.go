package runtime

import (
	"context"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"
	pulsarlog "github.com/apache/pulsar-client-go/pulsar/log"

	"github.com/meshc/meshc/broker"
	"github.com/meshc/meshc/internal/brokertest"
	"github.com/meshc/meshc/internal/testpki"
)

// These tests connect the real pulsar-client-go to the embedded broker's
// TLS listener, whose certificate names 127.0.0.1 alone.

const (
	// tlsOpTimeout is the operation timeout of clients that must be
	// refused: pulsar-client-go retries a failed connection until then.
	tlsOpTimeout = 3 * time.Second
	// tlsRefusalBound is how long such a client may take to fail.
	tlsRefusalBound = 10 * time.Second
)

// localhostURL is the broker's TLS URL by a name its certificate does not
// have.
func localhostURL(b *broker.Broker) string {
	return fmt.Sprintf("pulsar+ssl://localhost:%d", b.TLSAddr().(*net.TCPAddr).Port)
}

// TestHostnameVerification: a certificate that does not name the host is
// refused unless verification is turned off, and even then one that does
// not chain to the trusted CAs is refused.
func TestHostnameVerification(t *testing.T) {
	pki, other := testpki.New(t), testpki.New(t)
	b := brokertest.Start(t, broker.Config{TLSListen: "127.0.0.1:0", TLSCertFile: pki.CertFile, TLSKeyFile: pki.KeyFile})
	for _, tc := range []struct {
		name string
		conn Connection
		ok   bool
	}{
		{"named host", Connection{URL: b.TLSURL(), TrustCertsFile: pki.CAFile}, true},
		{"other host", Connection{URL: localhostURL(b), TrustCertsFile: pki.CAFile}, false},
		{"other host, not verified", Connection{URL: localhostURL(b), TrustCertsFile: pki.CAFile, NoHostnameVerification: true}, true},
		{"other host, not verified, other CA", Connection{URL: localhostURL(b), TrustCertsFile: other.CAFile, NoHostnameVerification: true}, false},
		{"not verified, system CAs", Connection{URL: localhostURL(b), NoHostnameVerification: true}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel() // a refusal waits out the operation timeout
			err := within(t, tlsRefusalBound, func() error { return sendOne(tc.conn) })
			if (err == nil) != tc.ok {
				t.Fatalf("sending: %v; want it to work: %v", err, tc.ok)
			}
		})
	}
}

// TestTLSClientCertificate: a client certificate signed by the CA the
// broker trusts authenticates a client, with host names verified or not;
// without one, or with one of another CA, the broker refuses it.
func TestTLSClientCertificate(t *testing.T) {
	pki, other := testpki.New(t), testpki.New(t)
	b := brokertest.Start(t, broker.Config{TLSListen: "127.0.0.1:0", TLSCertFile: pki.CertFile, TLSKeyFile: pki.KeyFile,
		AuthenticationEnabled: true, AuthTLS: true, TLSTrustCertsFile: pki.CAFile})
	cert, key := pki.Client(t, "alice")
	otherCert, otherKey := other.Client(t, "mallory")
	for _, tc := range []struct {
		name string
		conn Connection
		ok   bool
	}{
		{"certificate", Connection{URL: b.TLSURL(), TrustCertsFile: pki.CAFile, CertFile: cert, KeyFile: key}, true},
		{"certificate, any host", Connection{URL: localhostURL(b), TrustCertsFile: pki.CAFile, NoHostnameVerification: true,
			CertFile: cert, KeyFile: key}, true},
		{"no certificate", Connection{URL: b.TLSURL(), TrustCertsFile: pki.CAFile}, false},
		{"another CA's certificate", Connection{URL: b.TLSURL(), TrustCertsFile: pki.CAFile, CertFile: otherCert, KeyFile: otherKey}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := within(t, tlsRefusalBound, func() error { return sendOne(tc.conn) })
			if (err == nil) != tc.ok {
				t.Fatalf("sending: %v; want it to work: %v", err, tc.ok)
			}
		})
	}
}

// sendOne sends a message with a client of conn.
func sendOne(conn Connection) error {
	opts, err := conn.ClientOptions()
	if err != nil {
		return err
	}
	opts.Logger = pulsarlog.NewLoggerWithSlog(quietLog)
	opts.OperationTimeout, opts.ConnectionTimeout = tlsOpTimeout, tlsOpTimeout
	c, err := pulsar.NewClient(opts)
	if err != nil {
		return err
	}
	defer c.Close()
	p, err := c.CreateProducer(pulsar.ProducerOptions{Topic: topic("tls")})
	if err != nil {
		return err
	}
	defer p.Close()
	ctx, cancel := context.WithTimeout(context.Background(), tlsOpTimeout)
	defer cancel()
	_, err = p.Send(ctx, &pulsar.ProducerMessage{Payload: []byte("hello")})
	return err
}
