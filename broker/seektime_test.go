package broker

import (
	"testing"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"
	"github.com/google/go-cmp/cmp"
)

// publishAcrossTime sends m-0..m-4, then m-5..m-9 in a later millisecond,
// batched as the producer likes, and returns a time between the two
// halves.
func publishAcrossTime(t *testing.T, c pulsar.Client, topic string) time.Time {
	t.Helper()
	ctx := testCtx(t)
	p := mustProducer(t, c, pulsar.ProducerOptions{Topic: topic, BatchingMaxPublishDelay: time.Millisecond})
	msgs := payloads("m", 10)
	sendAll(t, ctx, p, msgs[:5])
	mid := time.Now().Add(time.Millisecond).Truncate(time.Millisecond)
	for time.Now().Before(mid.Add(time.Millisecond)) { // the next publish time is after mid
		time.Sleep(time.Millisecond)
	}
	sendAll(t, ctx, p, msgs[5:])
	return mid
}

// TestSeekByTime: a consumer and a reader seek to a publish time between
// two halves of a topic; each then gets the second half, and the reader's
// HasNext (which asks for the mark-delete position after a seek by time)
// answers instead of crashing the client.
func TestSeekByTime(t *testing.T) {
	b := startBroker(t, Config{})
	c := newClient(t, b)
	ctx := testCtx(t)
	topic := uniqueTopic("seek-time")
	mid := publishAcrossTime(t, c, topic)

	cons := mustSubscribe(t, c, pulsar.ConsumerOptions{Topic: topic, SubscriptionName: "s",
		SubscriptionInitialPosition: pulsar.SubscriptionPositionEarliest})
	receive(t, ctx, cons, 10)
	if err := cons.SeekByTime(mid); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(wantStrings("m", 5, 10), receive(t, ctx, cons, 5)); diff != "" {
		t.Errorf("consumer after the seek (-want +got):\n%s", diff)
	}

	r, err := c.CreateReader(pulsar.ReaderOptions{Topic: topic, StartMessageID: pulsar.EarliestMessageID()})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for range 10 {
		if _, err := r.Next(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.SeekByTime(mid); err != nil {
		t.Fatal(err)
	}
	var got []string
	for r.HasNext() {
		m, err := r.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, string(m.Payload()))
	}
	if diff := cmp.Diff(wantStrings("m", 5, 10), got); diff != "" {
		t.Errorf("reader after the seek (-want +got):\n%s", diff)
	}
	if err := r.SeekByTime(time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if r.HasNext() {
		t.Error("reader has a next message after a seek past the last one")
	}
}
