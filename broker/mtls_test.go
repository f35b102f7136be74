package broker

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"
	plog "github.com/apache/pulsar-client-go/pulsar/log"
	"github.com/golang-jwt/jwt/v5"

	"github.com/meshc/meshc/broker/internal/wire"
)

// startMTLSBroker runs a broker that serves plain and TLS listeners and
// authenticates by client certificate (and by token with k's secret, when
// k is given), with cfg's authorization.
func startMTLSBroker(t *testing.T, pki testPKI, k *testKeys, cfg Config) *Broker {
	t.Helper()
	cfg.Listen, cfg.TLSListen, cfg.TLSCertFile, cfg.TLSKeyFile = "127.0.0.1:0", "127.0.0.1:0", pki.CertFile, pki.KeyFile
	cfg.AuthenticationEnabled, cfg.AuthTLS, cfg.TLSTrustCertsFile = true, true, pki.CAFile
	if k != nil {
		cfg.AuthTokenSecretKeyFile = k.secretFile
	}
	return startBroker(t, cfg)
}

func certAuth(cert, key string) pulsar.Authentication { return pulsar.NewAuthenticationTLS(cert, key) }

// TestTLSAuthEndToEnd: with token and TLS authentication both on, a
// certificate client and a token client share a topic over TLS, and the
// certificate's CN is the role authorization sees.
func TestTLSAuthEndToEnd(t *testing.T) {
	pki, k := newTestPKI(t), newTestKeys(t)
	b := startMTLSBroker(t, pki, &k, grantsConfig(t, "svc-writer=public/orders:produce", "reader=public/orders:consume"))
	cert, key := pki.Client(t, "svc-writer")
	ctx := testCtx(t)
	const topic = "persistent://public/orders/mtls"
	newTLS := func(auth pulsar.Authentication) pulsar.Client {
		c, err := pulsar.NewClient(pulsar.ClientOptions{URL: b.TLSURL(), TLSTrustCertsFilePath: pki.CAFile, Authentication: auth,
			Logger: plog.NewLoggerWithSlog(quiet), OperationTimeout: 10 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(c.Close)
		return c
	}
	cons := mustSubscribe(t, newTLS(roleToken(t, k, "reader")), pulsar.ConsumerOptions{Topic: topic, SubscriptionName: "s"})
	sendAll(t, ctx, mustProducer(t, newTLS(certAuth(cert, key)), pulsar.ProducerOptions{Topic: topic}), payloads("c", 5))
	receive(t, ctx, cons, 5)

	// The same certificate may not consume: its role is svc-writer.
	checkAttempt(t, pulsar.ClientOptions{URL: b.TLSURL(), TLSTrustCertsFilePath: pki.CAFile, Authentication: certAuth(cert, key)},
		topic, consumeOp, `role "svc-writer" may not consume on namespace public/orders`)
}

// TestTLSAuthRefused: each way a client can fail TLS authentication is
// refused with AuthenticationError naming the cause. pulsar-client-go
// retries a refused CONNECT until its OperationTimeout and returns
// "connection error"; the broker's message is in its log.
func TestTLSAuthRefused(t *testing.T) {
	pki, other := newTestPKI(t), newTestPKI(t)
	b := startMTLSBroker(t, pki, nil, Config{})
	stranger, strangerKey := other.Client(t, "mallory")
	expired, expiredKey := pki.ClientWith(t, "late", time.Now().Add(-time.Minute))
	good, goodKey := pki.Client(t, "alice")
	for _, tc := range []struct {
		name string
		opts pulsar.ClientOptions
		want string
	}{
		{"no credentials", pulsar.ClientOptions{URL: b.TLSURL(), TLSTrustCertsFilePath: pki.CAFile},
			"authentication failed: no credentials: the broker requires TLS authentication; give the client a certificate (auth method tls)"},
		{"unknown CA", pulsar.ClientOptions{URL: b.TLSURL(), TLSTrustCertsFilePath: pki.CAFile, Authentication: certAuth(stranger, strangerKey)},
			"authentication failed: client certificate is not trusted: CN=mallory: x509: certificate signed by unknown authority"},
		{"expired certificate", pulsar.ClientOptions{URL: b.TLSURL(), TLSTrustCertsFilePath: pki.CAFile, Authentication: certAuth(expired, expiredKey)},
			"authentication failed: client certificate is not trusted: CN=late: x509: certificate has expired"},
		{"tls method on the plain listener", pulsar.ClientOptions{URL: b.URL(), Authentication: certAuth(good, goodKey)},
			"authentication failed: no client certificate: auth method tls works on the TLS listener only; connect to " + b.TLSURL()},
		{"plain client on the TLS port", pulsar.ClientOptions{URL: "pulsar://" + b.TLSAddr().String(), Authentication: certAuth(good, goodKey)},
			"this listener serves TLS: connect with " + b.TLSURL()},
		{"token when only tls is on", pulsar.ClientOptions{URL: b.TLSURL(), TLSTrustCertsFilePath: pki.CAFile,
			Authentication: pulsar.NewAuthenticationToken("x.y.z")}, "is not supported; use tls"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel() // each waits out the client's OperationTimeout
			logs, err := refusedProducer(t, tc.opts)
			if !strings.Contains(logs, tc.want) {
				t.Fatalf("error %v; want %q in the client log:\n%s", err, tc.want, logs)
			}
		})
	}
}

// TestTLSAuthRefusalOnTheWire: a CONNECT with auth method tls and no
// certificate gets CommandError AuthenticationError, then the connection
// closes.
func TestTLSAuthRefusalOnTheWire(t *testing.T) {
	pki := newTestPKI(t)
	b := startMTLSBroker(t, pki, nil, Config{})
	roots := x509.NewCertPool()
	caPEM, err := os.ReadFile(pki.CAFile)
	if err != nil || !roots.AppendCertsFromPEM(caPEM) {
		t.Fatalf("read CA: %v", err)
	}
	nc, err := tls.Dial("tcp", b.TLSAddr().String(), &tls.Config{RootCAs: roots})
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(patience))
	name, version, method := "raw", int32(protocolVersion), tlsAuthMethod
	frame, err := wire.AppendCommand(nil, &wire.BaseCommand{Type: wire.BaseCommand_CONNECT.Enum(),
		Connect: &wire.CommandConnect{ClientVersion: &name, ProtocolVersion: &version, AuthMethodName: &method}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := nc.Write(frame); err != nil {
		t.Fatal(err)
	}
	fr := newFrameReader(nc)
	var cmd wire.BaseCommand
	buf, err := fr.next(nil, &cmd)
	if err != nil {
		t.Fatal(err)
	}
	e := cmd.GetError()
	if e.GetError() != wire.ServerError_AuthenticationError || !strings.Contains(e.GetMessage(), "no client certificate") {
		t.Fatalf("reply %v; want AuthenticationError naming the missing certificate", &cmd)
	}
	if _, err := fr.next(buf, &cmd); !errors.Is(err, io.EOF) {
		t.Fatalf("after the refusal: %v; want the connection closed", err)
	}
}

// TestVerifyClientCert checks the role taken from certificates directly.
func TestVerifyClientCert(t *testing.T) {
	pki, other := newTestPKI(t), newTestPKI(t)
	roots, err := loadTrustCerts(pki.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	leaf := func(p testPKI, cn string) []*x509.Certificate {
		cert, key := p.Client(t, cn)
		pair, err := tls.LoadX509KeyPair(cert, key)
		if err != nil {
			t.Fatal(err)
		}
		c, err := x509.ParseCertificate(pair.Certificate[0])
		if err != nil {
			t.Fatal(err)
		}
		return []*x509.Certificate{c}
	}
	for _, tc := range []struct {
		name    string
		chain   []*x509.Certificate
		role    string
		wantErr error
	}{
		{"trusted", leaf(pki, "alice"), "alice", nil},
		{"no certificate", nil, "", errNoClientCert},
		{"other CA", leaf(other, "mallory"), "", errCertUntrusted},
		{"no CN", leaf(pki, ""), "", errCertNoRole},
	} {
		role, err := verifyClientCert(roots, tc.chain)
		if role != tc.role || !errors.Is(err, tc.wantErr) {
			t.Errorf("%s: role %q, %v; want %q, %v", tc.name, role, err, tc.role, tc.wantErr)
		}
	}
}

// TestTokenOverTLSWithCertAuth: with both methods on, a token client on
// the TLS listener needs no certificate.
func TestTokenOverTLSWithCertAuth(t *testing.T) {
	pki, k := newTestPKI(t), newTestKeys(t)
	b := startMTLSBroker(t, pki, &k, Config{})
	tok := sign(t, jwt.SigningMethodHS256, k.secret, jwt.MapClaims{"sub": "alice"})
	checkAttempt(t, pulsar.ClientOptions{URL: b.TLSURL(), TLSTrustCertsFilePath: pki.CAFile,
		Authentication: pulsar.NewAuthenticationToken(tok)}, uniqueTopic("tok-tls"), produceOp, "")
}
