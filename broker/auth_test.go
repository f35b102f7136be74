package broker

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"
	plog "github.com/apache/pulsar-client-go/pulsar/log"
	"github.com/golang-jwt/jwt/v5"

	"github.com/meshc/meshc/broker/internal/wire"

	"github.com/meshc/meshc/internal/testpki"
)

// testKeys are an HS256 secret and an RS256 key pair, with the broker's
// halves written to files.
type testKeys struct {
	secret               []byte
	rsa                  *rsa.PrivateKey
	secretFile, pubFile  string
	pubDERFile, emptyKey string
}

func newTestKeys(t testing.TB) testKeys {
	t.Helper()
	dir := t.TempDir()
	k := testKeys{secret: make([]byte, 32), secretFile: filepath.Join(dir, "secret.key"),
		pubFile: filepath.Join(dir, "public.pem"), pubDERFile: filepath.Join(dir, "public.der"), emptyKey: filepath.Join(dir, "empty")}
	rand.Read(k.secret)
	var err error
	if k.rsa, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(&k.rsa.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	testpki.WritePEM(t, k.pubFile, "PUBLIC KEY", der)
	for path, b := range map[string][]byte{k.secretFile: k.secret, k.pubDERFile: der, k.emptyKey: nil} {
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return k
}

func sign(t testing.TB, m jwt.SigningMethod, key any, claims jwt.MapClaims) string {
	return testpki.Sign(t, m, key, claims)
}

func startAuthBroker(t *testing.T, k testKeys) *Broker {
	t.Helper()
	return startBroker(t, Config{AuthenticationEnabled: true, AuthTokenSecretKeyFile: k.secretFile, AuthTokenPublicKeyFile: k.pubFile})
}

// TestAuthTokenEndToEnd: HS256 and RS256 tokens from the right keys let a
// client produce and consume.
func TestAuthTokenEndToEnd(t *testing.T) {
	k := newTestKeys(t)
	b := startAuthBroker(t, k)
	for name, tok := range map[string]string{
		"HS256": sign(t, jwt.SigningMethodHS256, k.secret, jwt.MapClaims{"sub": "alice", "exp": time.Now().Add(time.Hour).Unix()}),
		"RS256": sign(t, jwt.SigningMethodRS256, k.rsa, jwt.MapClaims{"sub": "bob"}),
	} {
		t.Run(name, func(t *testing.T) {
			c, err := pulsar.NewClient(pulsar.ClientOptions{URL: b.URL(), Authentication: pulsar.NewAuthenticationToken(tok),
				Logger: plog.NewLoggerWithSlog(quiet), OperationTimeout: 10 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			ctx := testCtx(t)
			topic := uniqueTopic("auth")
			cons := mustSubscribe(t, c, pulsar.ConsumerOptions{Topic: topic, SubscriptionName: "s"})
			sendAll(t, ctx, mustProducer(t, c, pulsar.ProducerOptions{Topic: topic}), payloads("a", 5))
			receive(t, ctx, cons, 5)
		})
	}
}

// TestAuthTokenRefused: pulsar-client-go retries a refused CONNECT until its
// OperationTimeout and returns "connection error"; the broker's message,
// naming the cause, is in its log.
func TestAuthTokenRefused(t *testing.T) {
	k := newTestKeys(t)
	b := startAuthBroker(t, k)
	other := []byte("not the broker's secret")
	for _, tc := range []struct {
		name string
		auth pulsar.Authentication
		want string
	}{
		{"missing", nil, "authentication failed: no token"},
		{"malformed", pulsar.NewAuthenticationToken("not-a-jwt"), "authentication failed: malformed token"},
		{"bad signature", pulsar.NewAuthenticationToken(sign(t, jwt.SigningMethodHS256, other, jwt.MapClaims{"sub": "eve"})),
			"authentication failed: token signature is invalid"},
		{"expired", pulsar.NewAuthenticationToken(sign(t, jwt.SigningMethodHS256, k.secret,
			jwt.MapClaims{"sub": "alice", "exp": time.Now().Add(-time.Minute).Unix()})), "authentication failed: token expired at"},
		{"no role", pulsar.NewAuthenticationToken(sign(t, jwt.SigningMethodHS256, k.secret, jwt.MapClaims{})),
			"authentication failed: token has no sub claim"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel() // each waits out the client's OperationTimeout
			logs, err := refusedProducer(t, pulsar.ClientOptions{URL: b.URL(), Authentication: tc.auth})
			if !strings.Contains(logs, tc.want) {
				t.Fatalf("error %v; want %q in the client log:\n%s", err, tc.want, logs)
			}
		})
	}
}

// TestAuthRefusalOnTheWire: a refused CONNECT gets CommandError with
// AuthenticationError and the cause, then the connection closes.
func TestAuthRefusalOnTheWire(t *testing.T) {
	k := newTestKeys(t)
	b := startAuthBroker(t, k)
	nc, err := net.Dial("tcp", b.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(patience))
	expired := sign(t, jwt.SigningMethodRS256, k.rsa, jwt.MapClaims{"sub": "bob", "exp": time.Now().Add(-time.Hour).Unix()})
	fr := rawConnect(t, nc, expired)
	var cmd wire.BaseCommand
	buf, err := fr.next(nil, &cmd)
	if err != nil {
		t.Fatal(err)
	}
	e := cmd.GetError()
	if cmd.GetType() != wire.BaseCommand_ERROR || e.GetError() != wire.ServerError_AuthenticationError ||
		!strings.Contains(e.GetMessage(), "token expired") {
		t.Fatalf("reply %v; want ERROR AuthenticationError naming the expired token", &cmd)
	}
	if _, err := fr.next(buf, &cmd); !errors.Is(err, io.EOF) {
		t.Fatalf("after the refusal: %v; want the connection closed", err)
	}
}

func TestAuthVerifier(t *testing.T) {
	k := newTestKeys(t)
	v, err := loadTokenVerifier("", k.pubDERFile)
	if err != nil {
		t.Fatal(err)
	}
	role, err := v.verify(sign(t, jwt.SigningMethodRS256, k.rsa, jwt.MapClaims{"sub": "carol"}))
	if err != nil || role != "carol" {
		t.Fatalf("DER public key: role %q, %v; want carol", role, err)
	}
	// Without a secret key an HS256 token cannot be verified.
	if _, err := v.verify(sign(t, jwt.SigningMethodHS256, k.secret, jwt.MapClaims{"sub": "x"})); !errors.Is(err, errTokenSignature) {
		t.Fatalf("HS256 token without a secret: %v; want %v", err, errTokenSignature)
	}
	if _, err := loadTokenVerifier(k.emptyKey, ""); err == nil || !strings.Contains(err.Error(), k.emptyKey) {
		t.Fatalf("empty secret: %v; want the path", err)
	}
	missing := filepath.Join(t.TempDir(), "nope")
	if _, err := loadTokenVerifier("", missing); err == nil || !strings.Contains(err.Error(), missing) {
		t.Fatalf("missing public key: %v; want the path", err)
	}
	if _, err := New(Config{AuthenticationEnabled: true}); err == nil || !strings.Contains(err.Error(), "needs a secret key file") {
		t.Fatalf("New without keys: %v", err)
	}
}
