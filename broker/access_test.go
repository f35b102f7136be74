package broker

import (
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"
	"github.com/google/go-cmp/cmp"

	"github.com/meshc/meshc/broker/internal/wire"
)

// TestProducerAccessModes: the refusals Pulsar gives in each access mode,
// as pulsar-client-go reports them.
func TestProducerAccessModes(t *testing.T) {
	b := startBroker(t, Config{})
	c := newClient(t, b)
	for _, tc := range []struct {
		name   string
		first  pulsar.ProducerAccessMode
		second pulsar.ProducerAccessMode
		want   string // in the second's error; "" for none
	}{
		{"exclusive then exclusive", pulsar.ProducerAccessModeExclusive, pulsar.ProducerAccessModeExclusive, "ProducerFenced: Topic has an existing exclusive producer"},
		{"exclusive then shared", pulsar.ProducerAccessModeExclusive, pulsar.ProducerAccessModeShared, "ProducerBusy: Topic has an existing exclusive producer"},
		{"shared then exclusive", pulsar.ProducerAccessModeShared, pulsar.ProducerAccessModeExclusive, "ProducerFenced: Topic has existing shared producers"},
		{"shared then shared", pulsar.ProducerAccessModeShared, pulsar.ProducerAccessModeShared, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			topic := uniqueTopic("access")
			first := mustProducer(t, c, pulsar.ProducerOptions{Topic: topic, ProducerAccessMode: tc.first})
			second, err := c.CreateProducer(pulsar.ProducerOptions{Topic: topic, ProducerAccessMode: tc.second})
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("second producer: %v", err)
			case tc.want == "":
				second.Close()
			case err == nil || !strings.Contains(err.Error(), tc.want):
				t.Fatalf("second producer: %v, want %q", err, tc.want)
			}
			// Once the first has gone, an exclusive producer is let in.
			first.Close()
			mustProducer(t, c, pulsar.ProducerOptions{Topic: topic, ProducerAccessMode: pulsar.ProducerAccessModeExclusive})
		})
	}
}

// TestWaitForExclusive: a WaitForExclusive producer's creation waits while
// another producer is there, and it is admitted, and sends, once that one
// closes; a Shared producer is refused while one waits.
func TestWaitForExclusive(t *testing.T) {
	b := startBroker(t, Config{})
	c := newClient(t, b)
	ctx := testCtx(t)
	topic := uniqueTopic("wait-exclusive")
	first := mustProducer(t, c, pulsar.ProducerOptions{Topic: topic, ProducerAccessMode: pulsar.ProducerAccessModeExclusive})
	type result struct {
		p   pulsar.Producer
		err error
	}
	created := make(chan result, 1)
	go func() {
		p, err := newClient(t, b).CreateProducer(pulsar.ProducerOptions{Topic: topic, ProducerAccessMode: pulsar.ProducerAccessModeWaitForExclusive})
		created <- result{p, err}
	}()
	waitFor(t, func() bool { return b.waitingProducers(topic) == 1 })
	select {
	case r := <-created:
		t.Fatalf("WaitForExclusive producer created while an exclusive one is there: %v", r.err)
	default:
	}
	if _, err := c.CreateProducer(pulsar.ProducerOptions{Topic: topic}); err == nil || !strings.Contains(err.Error(), "ProducerBusy") {
		t.Fatalf("shared producer while one waits: %v, want ProducerBusy", err)
	}
	cons := mustSubscribe(t, c, pulsar.ConsumerOptions{Topic: topic, SubscriptionName: "s"})
	first.Close()
	var r result
	select {
	case r = <-created:
	case <-time.After(30 * time.Second):
		t.Fatal("WaitForExclusive producer not admitted after the exclusive one closed")
	}
	if r.err != nil {
		t.Fatal(r.err)
	}
	defer r.p.Close()
	sendAll(t, ctx, r.p, payloads("w", 3))
	if diff := cmp.Diff(wantStrings("w", 0, 3), receive(t, ctx, cons, 3)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// TestExclusiveWithFencing: an ExclusiveWithFencing producer (which
// pulsar-client-go cannot ask for yet: here a raw client) takes the topic
// from the exclusive pulsar-client-go producer there, whose sends then fail
// with ErrProducerFenced and which is closed, and gets a newer epoch.
func TestExclusiveWithFencing(t *testing.T) {
	b := startBroker(t, Config{})
	// pulsar-client-go closes a fenced producer's queue while a send may
	// be putting a message into it (a race of its own): the late send
	// waits until the producer says it is closing, which it says once
	// no send can reach the queue.
	closing := newLogSignal("Closing producer")
	c := newClientLogging(t, b, slog.New(closing))
	ctx := testCtx(t)
	topic := uniqueTopic("fencing")
	old := mustProducer(t, c, pulsar.ProducerOptions{Topic: topic, ProducerAccessMode: pulsar.ProducerAccessModeExclusive, DisableBatching: true})
	sendAll(t, ctx, old, payloads("old", 1))

	r := dialRaw(t, b)
	pid, rid, mode := uint64(1), uint64(7), int32(accessExclusiveWithFencing)
	fencer := append(connectFrame(t), r.frame(&wire.BaseCommand{Type: wire.BaseCommand_PRODUCER.Enum(),
		Producer: &wire.CommandProducer{Topic: &topic, ProducerId: &pid, RequestId: &rid, ProducerAccessMode: &mode}})...)
	if _, err := r.nc.Write(fencer); err != nil {
		t.Fatal(err)
	}
	fr := newFrameReader(r.nc)
	r.nc.SetReadDeadline(time.Now().Add(patience))
	var success *wire.CommandProducerSuccess
	for success == nil {
		var cmd wire.BaseCommand
		if _, err := fr.next(nil, &cmd); err != nil {
			t.Fatalf("waiting for PRODUCER_SUCCESS: %v", err)
		}
		if cmd.GetType() == wire.BaseCommand_ERROR {
			t.Fatalf("fencing producer refused: %v", cmd.GetError())
		}
		success = cmd.GetProducerSuccess()
	}
	if success.GetTopicEpoch() < 2 || !success.GetProducerReady() {
		t.Errorf("fencing producer: epoch %d, ready %v; want an epoch after the first exclusive producer's (1), ready", success.GetTopicEpoch(), success.GetProducerReady())
	}
	select {
	case <-closing.seen:
	case <-ctx.Done():
		t.Fatal("the fenced producer was not closed")
	}
	_, err := old.Send(ctx, &pulsar.ProducerMessage{Payload: []byte("late")})
	if !errors.Is(err, pulsar.ErrProducerFenced) && !errors.Is(err, pulsar.ErrProducerClosed) {
		t.Fatalf("fenced producer's send: %v, want %v or %v", err, pulsar.ErrProducerFenced, pulsar.ErrProducerClosed)
	}
	st, err := b.Stats(topic)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Publishers) != 1 {
		t.Errorf("publishers after fencing: %+v, want the fencing one alone", st.Publishers)
	}
}
