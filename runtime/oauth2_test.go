package runtime

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"
	pulsarlog "github.com/apache/pulsar-client-go/pulsar/log"
	"github.com/google/go-cmp/cmp"

	"github.com/meshc/meshc/broker"
	"github.com/meshc/meshc/internal/brokertest"
	"github.com/meshc/meshc/internal/testoauth"
	"github.com/meshc/meshc/planner/plan"
)

// These tests authenticate the real pulsar-client-go with OAuth2 client
// credentials from testoauth to the embedded broker, which accepts only
// the RS256 tokens testoauth signs.

const (
	oauthClient   = "meshc-test"
	oauthSecret   = "the-right-secret"
	oauthAudience = "urn:pulsar:meshc-test"
	oauthRole     = "alice"
	// oauthOpTimeout bounds each client operation, so a refused client
	// fails the test soon.
	oauthOpTimeout = 10 * time.Second
	// refusalBound is how long a client with wrong credentials may take to
	// fail: at once, well inside its operation timeout.
	refusalBound = 5 * time.Second
	// instanceStopTimeout is how long a cancelled instance may take to
	// stop.
	instanceStopTimeout = 20 * time.Second
)

// oauthSetup is an authorization server and a broker that trusts it.
type oauthSetup struct {
	issuer    *testoauth.Server
	cfg       broker.Config
	broker    *broker.Broker
	restarted []*broker.Broker
}

// startOAuth starts both; tokens live for lifetime. The broker keeps its
// data on disk and its address, so a test may restart it.
func startOAuth(t *testing.T, lifetime time.Duration) *oauthSetup {
	t.Helper()
	s := &oauthSetup{issuer: testoauth.Start(t, testoauth.Config{ClientID: oauthClient, ClientSecret: oauthSecret,
		Audience: oauthAudience, Role: oauthRole, Lifetime: lifetime})}
	s.cfg = broker.Config{Listen: freeAddr(t), DataDir: t.TempDir(), Logger: brokertest.Quiet,
		AuthenticationEnabled: true, AuthTokenPublicKeyFile: s.issuer.PublicKeyFile}
	s.broker = brokertest.Start(t, s.cfg)
	// Brokers started again close after the clients, as the first does:
	// a client closing after its broker waits out its operation timeout.
	t.Cleanup(func() {
		for _, b := range s.restarted {
			b.Close()
		}
	})
	return s
}

// conn is the Connection of a client with this secret.
func (s *oauthSetup) conn(t *testing.T, secret string) Connection {
	return Connection{URL: s.broker.URL(), Audience: oauthAudience, CredentialsFile: s.issuer.CredentialsFile(t, secret)}
}

// restart stops the broker and starts it again on the same address and
// data, so that every client must connect again.
func (s *oauthSetup) restart(t *testing.T) {
	t.Helper()
	if err := s.broker.Close(); err != nil {
		t.Fatal(err)
	}
	b, err := broker.New(s.cfg)
	if err == nil {
		err = b.Start(context.Background())
	}
	if err != nil {
		t.Fatalf("the broker did not start again: %v", err)
	}
	s.broker = b
	s.restarted = append(s.restarted, b)
}

// newClient makes a client of conn, as instances and tools do.
func newClient(t *testing.T, conn Connection) (pulsar.Client, error) {
	opts, err := conn.ClientOptions()
	if err != nil {
		return nil, err
	}
	opts.Logger = pulsarlog.NewLoggerWithSlog(quietLog)
	opts.OperationTimeout, opts.ConnectionTimeout = oauthOpTimeout, oauthOpTimeout
	c, err := pulsar.NewClient(opts)
	if err == nil {
		t.Cleanup(c.Close)
	}
	return c, err
}

func mustClient(t *testing.T, conn Connection) pulsar.Client {
	t.Helper()
	c, err := newClient(t, conn)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// oauthInstance is the instance plan of a component of the tests' mesh.
func oauthInstance(c plan.Component) *plan.Instance {
	return &plan.Instance{APIVersion: plan.APIVersion, Mesh: plan.Mesh{Name: "m", Tenant: "public", Namespace: "default"}, Component: c}
}

// TestOAuth2Instance: an instance whose Connection has OAuth2 client
// credentials processes messages on a broker that requires tokens.
func TestOAuth2Instance(t *testing.T) {
	s := startOAuth(t, 0)
	conn := s.conn(t, oauthSecret)
	c := mustClient(t, conn)
	in, out := topic("oauth-in"), topic("oauth-out")
	produce(t, c, in, "a", "b", "c")

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, Options{Plan: oauthInstance(function("upper", "upper", in, out, str, str)),
			PulsarURL: conn.URL, Connection: conn, Registry: Builtins(), Logger: quietLog})
	}()
	got := payloads(collect(t, c, out, 3))
	cancel()
	if err := within(t, instanceStopTimeout, func() error { return <-done }); err != nil {
		t.Error(err)
	}
	if diff := cmp.Diff([]string{"A", "B", "C"}, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if n := len(s.issuer.Issued()); n < 2 {
		t.Errorf("%d tokens issued; want one for the test's client and one for the instance's", n)
	}
}

// TestOAuth2Refused: wrong credentials, or an issuer that cannot be
// reached, stop a client as it is made, within moments, with the issuer's
// reason and what to check; an instance with them stops at once with it
// too. The secret is never in the error.
func TestOAuth2Refused(t *testing.T) {
	s := startOAuth(t, 0)
	const checkCreds, checkIssuer = "; check client_id and client_secret in", "; check the issuer URL, and that the issuer answers"
	for _, tc := range []struct {
		name       string
		conn       func() Connection
		want, hint string
	}{
		{"wrong secret", func() Connection { return s.conn(t, "a-wrong-secret") },
			"client authentication failed: unknown client_id or wrong client_secret (invalid_client)", checkCreds},
		{"wrong audience", func() Connection { c := s.conn(t, oauthSecret); c.Audience = "urn:other"; return c },
			`audience "urn:other" is not "urn:pulsar:meshc-test" (invalid_target)`, checkCreds},
		{"issuer down", func() Connection { c := s.conn(t, oauthSecret); c.IssuerURL = "http://" + freeAddr(t); return c },
			"connection refused", checkIssuer},
	} {
		t.Run(tc.name, func(t *testing.T) {
			conn := tc.conn()
			start := time.Now()
			err := within(t, refusalBound, func() error { _, err := newClient(t, conn); return err })
			t.Logf("refused after %v: %v", time.Since(start).Round(time.Millisecond), err)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), tc.hint) ||
				!strings.HasPrefix(err.Error(), "no OAuth2 token from http://127.0.0.1:") {
				t.Fatalf("client made: %v; want no token, %q and %q", err, tc.want, tc.hint)
			}
			if strings.Contains(err.Error(), "a-wrong-secret") {
				t.Errorf("the error shows the secret: %v", err)
			}
			err = within(t, refusalBound, func() error { return runUntilDone(t, conn) })
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("instance: %v; want it stopped with %q", err, tc.want)
			}
		})
	}
}

// TestOAuth2IssuerSilent: an issuer that takes the connection and never
// answers stops the client after oauth2FirstTokenTimeout, rather than
// holding it: pulsar-client-go's own HTTP requests have no timeout.
func TestOAuth2IssuerSilent(t *testing.T) {
	t.Parallel() // it waits out the timeout
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	// Closing the listener ends the loop, which then closes what it
	// accepted: the client's request, left waiting, fails then.
	t.Cleanup(func() { l.Close() })
	go func() {
		var held []net.Conn
		defer func() {
			for _, c := range held {
				c.Close()
			}
		}()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			held = append(held, c)
		}
	}()
	s := startOAuth(t, 0)
	conn := s.conn(t, oauthSecret)
	conn.IssuerURL = "http://" + l.Addr().String()
	err = within(t, oauth2FirstTokenTimeout+refusalBound, func() error { _, err := newClient(t, conn); return err })
	if want := "within " + oauth2FirstTokenTimeout.String() + ": check the issuer URL"; err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("client made: %v; want %q", err, want)
	}
}

// runUntilDone runs an instance of conn until it stops by itself.
func runUntilDone(t *testing.T, conn Connection) error {
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	c := function("upper", "upper", topic("refused-in"), topic("refused-out"), str, str)
	return Run(ctx, Options{Plan: oauthInstance(c), PulsarURL: conn.URL, Connection: conn, Registry: Builtins(), Logger: quietLog})
}

// within runs f and fails the test if it takes longer than bound.
func within(t *testing.T, bound time.Duration, f func() error) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- f() }()
	select {
	case err := <-done:
		return err
	case <-time.After(bound):
		t.Fatalf("still waiting after %v", bound)
		return errors.New("unreachable")
	}
}

// TestOAuth2TokenRefresh: a client that must connect again once its token
// has expired fetches a new one and carries on, where the old one would
// be refused; one whose token is far from expiry reuses it.
// pulsar-client-go fetches a new token when a connection finds the cached
// one within a minute of its expiry, so a token of seconds is fetched anew
// for every connection.
func TestOAuth2TokenRefresh(t *testing.T) {
	const shortLived = 2 * time.Second
	for _, tc := range []struct {
		name     string
		lifetime time.Duration
		newToken bool
	}{
		{"expired", shortLived, true},
		{"valid", time.Hour, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := startOAuth(t, tc.lifetime)
			c := mustClient(t, s.conn(t, oauthSecret))
			tp := topic("refresh")
			cons := mustSubscribe(t, c, tp)
			prod, err := c.CreateProducer(pulsar.ProducerOptions{Topic: tp})
			if err != nil {
				t.Fatal(err)
			}
			defer prod.Close()
			sendAndReceive(t, prod, cons, "before")
			before := len(s.issuer.Issued())
			if tc.newToken {
				time.Sleep(shortLived + time.Second) // every token issued so far has expired
			}
			s.restart(t)
			sendAndReceive(t, prod, cons, "after")
			after := len(s.issuer.Issued())
			t.Logf("tokens issued: %d before the restart, %d after", before, after)
			if (after > before) != tc.newToken {
				t.Errorf("tokens issued went from %d to %d across the reconnection; want a new one: %v", before, after, tc.newToken)
			}
		})
	}
}

func mustSubscribe(t *testing.T, c pulsar.Client, tp string) pulsar.Consumer {
	t.Helper()
	cons, err := c.Subscribe(pulsar.ConsumerOptions{Topic: tp, SubscriptionName: "s",
		SubscriptionInitialPosition: pulsar.SubscriptionPositionEarliest})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cons.Close)
	return cons
}

// sendAndReceive sends one message and reads it back, through whatever
// reconnection that takes.
func sendAndReceive(t *testing.T, prod pulsar.Producer, cons pulsar.Consumer, payload string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := prod.Send(ctx, &pulsar.ProducerMessage{Payload: []byte(payload)}); err != nil {
		t.Fatalf("sending %q: %v", payload, err)
	}
	for {
		m, err := cons.Receive(ctx)
		if err != nil {
			t.Fatalf("receiving %q: %v", payload, err)
		}
		cons.Ack(m)
		if string(m.Payload()) == payload {
			return
		}
	}
}
