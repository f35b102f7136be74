package broker

import (
	"context"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"
	plog "github.com/apache/pulsar-client-go/pulsar/log"
	"github.com/golang-jwt/jwt/v5"

	"github.com/meshc/meshc/broker/internal/wire"
	"github.com/meshc/meshc/internal/syncbuf"
)

const (
	// authzOpTimeout is the clients' OperationTimeout in authorization
	// tests: long, so that a client retrying a refusal would be seen.
	authzOpTimeout = 30 * time.Second
	// failFast bounds how long a refused operation may take: well under
	// authzOpTimeout, so the refusal was not retried, and well over what
	// one round trip takes under the race detector on a busy machine.
	failFast = authzOpTimeout / 2
)

// testGrants are the permissions of the authorization tests: alice
// produces and bob consumes on public/orders, everyone does both on
// public/open, root is a superuser, carol has nothing of her own.
var testGrants = []string{"alice=public/orders:produce", "bob=public/orders:consume", "*=public/open:produce,consume"}

func grantsConfig(t *testing.T, grants ...string) Config {
	t.Helper()
	cfg := Config{AuthorizationEnabled: true, SuperuserRoles: []string{"root"}}
	for _, s := range grants {
		g, err := ParseGrant(s)
		if err != nil {
			t.Fatal(err)
		}
		cfg.Grants = append(cfg.Grants, g)
	}
	return cfg
}

// startAuthzBroker runs a broker with token authentication and the test
// grants.
func startAuthzBroker(t *testing.T, k testKeys) *Broker {
	t.Helper()
	cfg := grantsConfig(t, testGrants...)
	cfg.AuthenticationEnabled, cfg.AuthTokenSecretKeyFile = true, k.secretFile
	return startBroker(t, cfg)
}

func roleToken(t testing.TB, k testKeys, role string) pulsar.Authentication {
	return pulsar.NewAuthenticationToken(sign(t, jwt.SigningMethodHS256, k.secret, jwt.MapClaims{"sub": role}))
}

// clientOp is what a test does with a client: create a producer or a
// consumer, closing it again on success.
type clientOp func(c pulsar.Client, topic string) error

func produceOp(c pulsar.Client, topic string) error {
	p, err := c.CreateProducer(pulsar.ProducerOptions{Topic: topic})
	if err == nil {
		p.Close()
	}
	return err
}

func consumeOp(c pulsar.Client, topic string) error {
	cons, err := c.Subscribe(pulsar.ConsumerOptions{Topic: topic, SubscriptionName: "s"})
	if err == nil {
		cons.Close()
	}
	return err
}

// attempt runs op with a client made from opts and returns its error, how
// long it took and the client's log; it fails the test if op has not
// returned within authzOpTimeout and some slack.
func attempt(t *testing.T, opts pulsar.ClientOptions, topic string, op clientOp) (took time.Duration, logs string, err error) {
	t.Helper()
	buf := &syncbuf.Buffer{}
	opts.Logger = plog.NewLoggerWithSlog(slog.New(slog.NewTextHandler(buf, nil)))
	opts.OperationTimeout, opts.ConnectionTimeout = authzOpTimeout, 5*time.Second
	c, err := pulsar.NewClient(opts)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), authzOpTimeout+10*time.Second)
	defer cancel()
	start := time.Now()
	done := make(chan error, 1)
	go func() { done <- op(c, topic) }()
	select {
	case err := <-done:
		return time.Since(start), buf.String(), err
	case <-ctx.Done():
		t.Fatalf("%s: no answer within %s; client log:\n%s", topic, authzOpTimeout+10*time.Second, buf)
		return 0, "", nil
	}
}

// checkAttempt checks op's outcome: success when want is "", else an
// error containing want that came at once.
func checkAttempt(t *testing.T, opts pulsar.ClientOptions, topic string, op clientOp, want string) {
	t.Helper()
	took, logs, err := attempt(t, opts, topic, op)
	t.Logf("after %s: %v", took.Round(time.Millisecond), err)
	switch {
	case want == "" && err != nil:
		t.Fatalf("%s: %v; want success. Client log:\n%s", topic, err, logs)
	case want == "":
	case err == nil:
		t.Fatalf("%s: succeeded; want %q", topic, want)
	case !strings.Contains(err.Error(), want):
		t.Fatalf("%s: error %q; want %q", topic, err, want)
	case took > failFast:
		t.Fatalf("%s: refused after %s; want at once (under %s), not retried", topic, took, failFast)
	}
}

// TestAuthorizationProducerConsumer runs pulsar-client-go as each role
// against each kind of permission. A role that may look the topic up but
// not take the action gets the broker's message from PRODUCER or
// SUBSCRIBE; one that may not even look it up is refused at the
// partitioned-metadata lookup, whose message pulsar-client-go drops: it
// returns the bare code. Either way at once, not after retries.
func TestAuthorizationProducerConsumer(t *testing.T) {
	k := newTestKeys(t)
	b := startAuthzBroker(t, k)
	const notLookup = "AuthorizationError"
	for _, tc := range []struct {
		name, role, ns string
		op             clientOp
		want           string
	}{
		{"producer granted produce", "alice", "orders", produceOp, ""},
		{"consumer granted consume", "bob", "orders", consumeOp, ""},
		{"consumer without consume", "alice", "orders", consumeOp,
			`server error: AuthorizationError: authorization failed: role "alice" may not consume on namespace public/orders: grant alice=public/orders:consume`},
		{"producer without produce", "bob", "orders", produceOp,
			`server error: AuthorizationError: authorization failed: role "bob" may not produce on namespace public/orders: grant bob=public/orders:produce`},
		{"producer without any grant", "carol", "orders", produceOp, notLookup},
		{"consumer without any grant", "carol", "orders", consumeOp, notLookup},
		{"producer in another namespace", "alice", "default", produceOp, notLookup},
		{"any role on a * grant", "carol", "open", produceOp, ""},
		{"superuser produces", "root", "orders", produceOp, ""},
		{"superuser consumes anywhere", "root", "secret", consumeOp, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			topic := "persistent://public/" + tc.ns + "/" + strings.ReplaceAll(tc.name, " ", "-")
			checkAttempt(t, pulsar.ClientOptions{URL: b.URL(), Authentication: roleToken(t, k, tc.role)}, topic, tc.op, tc.want)
		})
	}
}

// TestAuthorizationEndToEnd: a producer and a consumer with their own
// roles and grants exchange messages.
func TestAuthorizationEndToEnd(t *testing.T) {
	k := newTestKeys(t)
	b := startAuthzBroker(t, k)
	client := func(role string) pulsar.Client {
		c, err := pulsar.NewClient(pulsar.ClientOptions{URL: b.URL(), Authentication: roleToken(t, k, role),
			Logger: plog.NewLoggerWithSlog(quiet), OperationTimeout: 10 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(c.Close)
		return c
	}
	ctx := testCtx(t)
	const topic = "persistent://public/orders/e2e"
	cons := mustSubscribe(t, client("bob"), pulsar.ConsumerOptions{Topic: topic, SubscriptionName: "s"})
	sendAll(t, ctx, mustProducer(t, client("alice"), pulsar.ProducerOptions{Topic: topic}), payloads("o", 10))
	if got := receive(t, ctx, cons, 10); strings.Join(got, ",") != strings.Join(wantStrings("o", 0, 10), ",") {
		t.Fatalf("got %v", got)
	}
}

// TestAuthorizationOnTheWire: the lookups pulsar-client-go cannot show
// carry AuthorizationError and the message in a Failed response, which it
// does not retry; GET_TOPICS_OF_NAMESPACE, which has no error field, gets
// CommandError as in Pulsar.
func TestAuthorizationOnTheWire(t *testing.T) {
	k := newTestKeys(t)
	b := startAuthzBroker(t, k)
	nc, err := net.Dial("tcp", b.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(patience))
	fr := rawConnect(t, nc, sign(t, jwt.SigningMethodHS256, k.secret, jwt.MapClaims{"sub": "carol"}))
	var cmd wire.BaseCommand
	buf, err := fr.next(nil, &cmd)
	if err != nil || cmd.GetType() != wire.BaseCommand_CONNECTED {
		t.Fatalf("CONNECT: %v %v", &cmd, err)
	}
	topic, ns, rid := "persistent://public/orders/x", "public/orders", uint64(1)
	const want = `authorization failed: role "carol" may not look up topics (it needs produce or consume) on namespace public/orders: ` +
		`grant carol=public/orders:produce or carol=public/orders:consume, or use a role that may`
	for _, req := range []*wire.BaseCommand{
		{Type: wire.BaseCommand_PARTITIONED_METADATA.Enum(), PartitionMetadata: &wire.CommandPartitionedTopicMetadata{Topic: &topic, RequestId: &rid}},
		{Type: wire.BaseCommand_LOOKUP.Enum(), LookupTopic: &wire.CommandLookupTopic{Topic: &topic, RequestId: &rid}},
		{Type: wire.BaseCommand_GET_TOPICS_OF_NAMESPACE.Enum(), GetTopicsOfNamespace: &wire.CommandGetTopicsOfNamespace{Namespace: &ns, RequestId: &rid}},
	} {
		frame, err := wire.AppendCommand(nil, req)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := nc.Write(frame); err != nil {
			t.Fatal(err)
		}
		if buf, err = fr.next(buf, &cmd); err != nil {
			t.Fatal(err)
		}
		code, msg := refusalOf(&cmd)
		if code != wire.ServerError_AuthorizationError || msg != want {
			t.Errorf("%v: reply %v; want AuthorizationError %q", req.GetType(), &cmd, want)
		}
	}
}

// TestAuthorizationTopicsPattern: a regex consumer lists the namespace's
// topics with GET_TOPICS_OF_NAMESPACE, whose refusal can only be a
// CommandError (as in Pulsar). pulsar-client-go retries that until its
// OperationTimeout and then returns it with the broker's message: bounded
// and named, not at once.
func TestAuthorizationTopicsPattern(t *testing.T) {
	k := newTestKeys(t)
	b := startAuthzBroker(t, k)
	opts := pulsar.ClientOptions{URL: b.URL(), Authentication: roleToken(t, k, "carol"), Logger: plog.NewLoggerWithSlog(quiet),
		OperationTimeout: refusalOpTimeout}
	c, err := pulsar.NewClient(opts)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	done := make(chan error, 1)
	start := time.Now()
	go func() {
		cons, err := c.Subscribe(pulsar.ConsumerOptions{TopicsPattern: "persistent://public/orders/.*", SubscriptionName: "s"})
		if err == nil {
			cons.Close()
		}
		done <- err
	}()
	const want = `server error: AuthorizationError: authorization failed: role "carol" may not look up topics`
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("regex subscribe: %v; want %q", err, want)
		}
		t.Logf("after %s: %v", time.Since(start).Round(time.Millisecond), err)
	case <-time.After(refusalTimeout):
		t.Fatalf("regex subscribe: no answer within %s", refusalTimeout)
	}
}

// refusalOf is the error code and message of a reply.
func refusalOf(cmd *wire.BaseCommand) (wire.ServerError, string) {
	switch {
	case cmd.PartitionMetadataResponse != nil:
		r := cmd.GetPartitionMetadataResponse()
		return r.GetError(), r.GetMessage()
	case cmd.LookupTopicResponse != nil:
		r := cmd.GetLookupTopicResponse()
		return r.GetError(), r.GetMessage()
	case cmd.Error != nil:
		return cmd.GetError().GetError(), cmd.GetError().GetMessage()
	}
	return 0, ""
}
