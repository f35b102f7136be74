package broker

import (
	"context"
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"
	"github.com/google/go-cmp/cmp"
)

func TestExclusiveRefusesSecondConsumer(t *testing.T) {
	b := startBroker(t, Config{})
	c := newClient(t, b)
	topic := uniqueTopic("exclusive")
	mustSubscribe(t, c, pulsar.ConsumerOptions{Topic: topic, SubscriptionName: "s", Type: pulsar.Exclusive})
	_, err := c.Subscribe(pulsar.ConsumerOptions{Topic: topic, SubscriptionName: "s", Type: pulsar.Exclusive})
	if err == nil {
		t.Fatal("second exclusive consumer was accepted")
	}
}

func TestSharedSpreadsMessages(t *testing.T) {
	b := startBroker(t, Config{})
	c := newClient(t, b)
	ctx := testCtx(t)
	topic := uniqueTopic("shared")
	opts := pulsar.ConsumerOptions{Topic: topic, SubscriptionName: "s", Type: pulsar.Shared, ReceiverQueueSize: 10}
	c1 := mustSubscribe(t, c, opts)
	c2 := mustSubscribe(t, c, opts)
	p := mustProducer(t, c, pulsar.ProducerOptions{Topic: topic, DisableBatching: true})
	const n = 200
	sendAll(t, ctx, p, payloads("m", n))

	got := map[string]int{}
	counts := [2]int{}
	for len(got) < n {
		for i, cons := range []pulsar.Consumer{c1, c2} {
			select {
			case m := <-cons.Chan():
				got[string(m.Payload())]++
				counts[i]++
				cons.Ack(m)
			case <-time.After(10 * time.Millisecond):
			}
		}
		if ctx.Err() != nil {
			t.Fatalf("received %d of %d", len(got), n)
		}
	}
	if counts[0] == 0 || counts[1] == 0 {
		t.Fatalf("one consumer got nothing: %v", counts)
	}
	for k, v := range got {
		if v != 1 {
			t.Errorf("%s delivered %d times", k, v)
		}
	}
}

func TestFailoverHandsOver(t *testing.T) {
	b := startBroker(t, Config{})
	c := newClient(t, b)
	ctx := testCtx(t)
	topic := uniqueTopic("failover")
	p := mustProducer(t, c, pulsar.ProducerOptions{Topic: topic, DisableBatching: true})
	sendAll(t, ctx, p, payloads("m", 100))

	opts := func(name string) pulsar.ConsumerOptions {
		return pulsar.ConsumerOptions{Topic: topic, SubscriptionName: "s", Type: pulsar.Failover, Name: name,
			SubscriptionInitialPosition: pulsar.SubscriptionPositionEarliest}
	}
	first, err := c.Subscribe(opts("a"))
	if err != nil {
		t.Fatal(err)
	}
	second := mustSubscribe(t, c, opts("b"))
	got := receive(t, ctx, first, 40)
	first.Close()
	got = append(got, receive(t, ctx, second, 60)...)
	if diff := cmp.Diff(wantStrings("m", 0, 100), got); diff != "" {
		t.Fatalf("messages differ (-want +got):\n%s", diff)
	}
}

func TestKeySharedKeepsKeysTogether(t *testing.T) {
	c, ctx, topic, opts := keySharedSetUp(t, "keyshared", 20)
	consumers := []pulsar.Consumer{mustSubscribe(t, c, opts("a")), mustSubscribe(t, c, opts("b")), mustSubscribe(t, c, opts("c"))}
	p := mustProducer(t, c, pulsar.ProducerOptions{Topic: topic, DisableBatching: true})
	const n, keys = 600, 12
	var msgs []*pulsar.ProducerMessage
	for i := range n {
		msgs = append(msgs, &pulsar.ProducerMessage{Key: fmt.Sprintf("k%d", i%keys), Payload: []byte(fmt.Sprint(i))})
	}
	sendAll(t, ctx, p, msgs)

	owner := map[string]int{}
	last := map[string]int{}
	seen := 0
	for seen < n {
		progressed := false
		for i, cons := range consumers {
			select {
			case m := <-cons.Chan():
				progressed = true
				seen++
				k := m.Key()
				if o, ok := owner[k]; ok && o != i {
					t.Fatalf("key %s went to consumers %d and %d", k, o, i)
				}
				owner[k] = i
				var v int
				fmt.Sscan(string(m.Payload()), &v)
				if prev, ok := last[k]; ok && v <= prev {
					t.Fatalf("key %s out of order: %d after %d", k, v, prev)
				}
				last[k] = v
				cons.Ack(m)
			default:
			}
		}
		if !progressed {
			select {
			case <-ctx.Done():
				t.Fatalf("received %d of %d", seen, n)
			case <-time.After(5 * time.Millisecond):
			}
		}
	}
	used := map[int]bool{}
	for _, o := range owner {
		used[o] = true
	}
	if len(used) < 2 {
		t.Errorf("all %d keys went to one consumer", keys)
	}
}

func TestNackRedelivers(t *testing.T) {
	b := startBroker(t, Config{})
	c := newClient(t, b)
	ctx := testCtx(t)
	topic := uniqueTopic("nack")
	cons := mustSubscribe(t, c, pulsar.ConsumerOptions{Topic: topic, SubscriptionName: "s", Type: pulsar.Shared,
		NackRedeliveryDelay: 50 * time.Millisecond})
	p := mustProducer(t, c, pulsar.ProducerOptions{Topic: topic, DisableBatching: true})
	sendAll(t, ctx, p, payloads("m", 5))

	for range 5 {
		m, err := cons.Receive(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if string(m.Payload()) == "m-2" {
			cons.Nack(m)
		} else {
			cons.Ack(m)
		}
	}
	m, err := cons.Receive(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if string(m.Payload()) != "m-2" || m.RedeliveryCount() != 1 {
		t.Fatalf("redelivered %q with count %d, want m-2 with count 1", m.Payload(), m.RedeliveryCount())
	}
	cons.Ack(m)
}

// ackTimeoutInTest is the broker's ack timeout in TestAckTimeoutRedelivers:
// the acknowledgements the test sends must reach the broker before it, as
// they do within milliseconds alone but not always within 100 ms under the
// race detector on a busy machine.
const ackTimeoutInTest = time.Second

func TestAckTimeoutRedelivers(t *testing.T) {
	b := startBroker(t, Config{AckTimeout: ackTimeoutInTest})
	c := newClient(t, b)
	ctx := testCtx(t)
	topic := uniqueTopic("acktimeout")
	// Acks go at once: grouped, pulsar-client-go holds them up to 100 ms.
	cons := mustSubscribe(t, c, pulsar.ConsumerOptions{Topic: topic, SubscriptionName: "s", Type: pulsar.Shared,
		AckGroupingOptions: &pulsar.AckGroupingOptions{MaxSize: 1}})
	p := mustProducer(t, c, pulsar.ProducerOptions{Topic: topic, DisableBatching: true})
	sendAll(t, ctx, p, payloads("m", 3))
	var got []string
	for range 3 {
		m, err := cons.Receive(ctx)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, string(m.Payload()))
		if string(m.Payload()) != "m-1" {
			cons.Ack(m)
		}
	}
	m, err := cons.Receive(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if string(m.Payload()) != "m-1" {
		t.Fatalf("redelivered %q, want m-1 (first pass %v)", m.Payload(), got)
	}
	cons.Ack(m)
}

func TestCumulativeAck(t *testing.T) {
	b := startBroker(t, Config{AdminListen: "127.0.0.1:0"})
	c := newClient(t, b)
	ctx := testCtx(t)
	topic := uniqueTopic("cumulative")
	cons := mustSubscribe(t, c, pulsar.ConsumerOptions{Topic: topic, SubscriptionName: "s",
		SubscriptionInitialPosition: pulsar.SubscriptionPositionEarliest})
	p := mustProducer(t, c, pulsar.ProducerOptions{Topic: topic, DisableBatching: true})
	sendAll(t, ctx, p, payloads("m", 10))
	if err := cons.AckCumulative(take(t, ctx, cons, 10)[9]); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool {
		st, err := b.Stats(topic)
		return err == nil && st.Subscriptions["s"].MsgBacklog == 0
	})
}

func TestSeek(t *testing.T) {
	b := startBroker(t, Config{})
	c := newClient(t, b)
	ctx := testCtx(t)
	topic := uniqueTopic("seek")
	p := mustProducer(t, c, pulsar.ProducerOptions{Topic: topic, DisableBatching: true})
	var ids []pulsar.MessageID
	for i := range 10 {
		id, err := p.Send(ctx, &pulsar.ProducerMessage{Payload: []byte(fmt.Sprintf("m-%d", i))})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	for _, tc := range []struct {
		name string
		seek func(pulsar.Consumer) error
		want []string
	}{
		// The broker resumes at the sought entry; pulsar-client-go, as
		// against a real Pulsar, skips that one message itself.
		{"message id", func(c pulsar.Consumer) error { return c.Seek(ids[4]) }, wantStrings("m", 5, 10)},
		{"publish time", func(c pulsar.Consumer) error { return c.SeekByTime(time.Unix(0, 0)) }, wantStrings("m", 0, 10)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cons := mustSubscribe(t, c, pulsar.ConsumerOptions{Topic: topic, SubscriptionName: tc.name,
				SubscriptionInitialPosition: pulsar.SubscriptionPositionEarliest})
			receive(t, ctx, cons, 10)
			if err := tc.seek(cons); err != nil {
				t.Fatal(err)
			}
			got := receive(t, ctx, cons, len(tc.want))
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Fatalf("after seek (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPartitionedTopic(t *testing.T) {
	b := startBroker(t, Config{})
	topic := uniqueTopic("partitioned")
	if err := b.CreatePartitionedTopic(topic, 3); err != nil {
		t.Fatal(err)
	}
	c := newClient(t, b)
	ctx := testCtx(t)
	parts, err := c.TopicPartitions(topic)
	if err != nil {
		t.Fatal(err)
	}
	if len(parts) != 3 {
		t.Fatalf("partitions %v, want 3", parts)
	}
	cons := mustSubscribe(t, c, pulsar.ConsumerOptions{Topic: topic, SubscriptionName: "s",
		SubscriptionInitialPosition: pulsar.SubscriptionPositionEarliest})
	p := mustProducer(t, c, pulsar.ProducerOptions{Topic: topic, DisableBatching: true})
	var msgs []*pulsar.ProducerMessage
	for i := range 90 {
		msgs = append(msgs, &pulsar.ProducerMessage{Key: fmt.Sprintf("k%d", i), Payload: []byte(fmt.Sprintf("m-%d", i))})
	}
	sendAll(t, ctx, p, msgs)
	got := receive(t, ctx, cons, 90)
	sort.Strings(got)
	want := wantStrings("m", 0, 90)
	sort.Strings(want)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("messages differ (-want +got):\n%s", diff)
	}
	for i := range 3 {
		st, err := b.Stats(fmt.Sprintf("%s-partition-%d", topic, i))
		if err != nil || st.MsgInCounter == 0 {
			t.Errorf("partition %d: %+v, %v", i, st, err)
		}
	}
}

func TestInitialPosition(t *testing.T) {
	b := startBroker(t, Config{})
	c := newClient(t, b)
	ctx := testCtx(t)
	topic := uniqueTopic("position")
	p := mustProducer(t, c, pulsar.ProducerOptions{Topic: topic, DisableBatching: true})
	sendAll(t, ctx, p, payloads("old", 5))
	latest := mustSubscribe(t, c, pulsar.ConsumerOptions{Topic: topic, SubscriptionName: "latest",
		SubscriptionInitialPosition: pulsar.SubscriptionPositionLatest})
	earliest := mustSubscribe(t, c, pulsar.ConsumerOptions{Topic: topic, SubscriptionName: "earliest",
		SubscriptionInitialPosition: pulsar.SubscriptionPositionEarliest})
	sendAll(t, ctx, p, payloads("new", 5))
	if diff := cmp.Diff(wantStrings("new", 0, 5), receive(t, ctx, latest, 5)); diff != "" {
		t.Errorf("latest (-want +got):\n%s", diff)
	}
	want := append(wantStrings("old", 0, 5), wantStrings("new", 0, 5)...)
	if diff := cmp.Diff(want, receive(t, ctx, earliest, 10)); diff != "" {
		t.Errorf("earliest (-want +got):\n%s", diff)
	}
}

func TestUnsubscribe(t *testing.T) {
	b := startBroker(t, Config{})
	c := newClient(t, b)
	ctx := testCtx(t)
	topic := uniqueTopic("unsubscribe")
	opts := pulsar.ConsumerOptions{Topic: topic, SubscriptionName: "s", Type: pulsar.Shared,
		SubscriptionInitialPosition: pulsar.SubscriptionPositionEarliest}
	first := mustSubscribe(t, c, opts)
	other := mustSubscribe(t, c, opts)
	p := mustProducer(t, c, pulsar.ProducerOptions{Topic: topic, DisableBatching: true})
	sendAll(t, ctx, p, payloads("m", 4))
	if err := first.Unsubscribe(); err == nil {
		t.Fatal("unsubscribe succeeded while another consumer was attached")
	}
	other.Close()
	if err := first.Unsubscribe(); err != nil {
		t.Fatalf("unsubscribe: %v", err)
	}
	if st, _ := b.Stats(topic); len(st.Subscriptions) != 0 {
		t.Fatalf("subscriptions after unsubscribe: %v", st.Subscriptions)
	}
	// The name is free again, and a new subscription starts where it is told.
	again := mustSubscribe(t, c, opts)
	if diff := cmp.Diff(wantStrings("m", 0, 4), receive(t, ctx, again, 4)); diff != "" {
		t.Fatalf("after unsubscribe (-want +got):\n%s", diff)
	}
}

// TestCumulativeAckInsideFirstBatch: a cumulative ack inside the first
// batch of a topic reaches the broker as entry -1, which acknowledges
// nothing: every message comes again to the next consumer.
func TestCumulativeAckInsideFirstBatch(t *testing.T) {
	b := startBroker(t, Config{})
	c := newClient(t, b)
	ctx := testCtx(t)
	topic := uniqueTopic("cumfirst")
	opts := pulsar.ConsumerOptions{Topic: topic, SubscriptionName: "s", Type: pulsar.Failover,
		SubscriptionInitialPosition: pulsar.SubscriptionPositionEarliest}
	cons := mustSubscribe(t, c, opts)
	p := mustProducer(t, c, pulsar.ProducerOptions{Topic: topic, BatchingMaxMessages: 50, BatchingMaxPublishDelay: time.Second})
	sendAll(t, ctx, p, payloads("m", 100))
	if err := cons.AckCumulative(take(t, ctx, cons, 5)[4]); err != nil {
		t.Fatal(err)
	}
	cons.Close()
	again := mustSubscribe(t, c, opts)
	if got := receive(t, ctx, again, 100); len(got) != 100 || got[0] != "m-0" {
		t.Fatalf("after the reopen got %d messages starting %q, want all 100 from m-0", len(got), got[0])
	}
}

// TestKeySharedMixedBatches: a producer batching as pulsar-client-go does
// by default puts several keys in one batch; each key still reaches one
// consumer at a time, in order, also when a consumer joins mid-stream
// while others hold unacknowledged messages of the keys it wins.
func TestKeySharedMixedBatches(t *testing.T) {
	c, ctx, topic, opts := keySharedSetUp(t, "keymixed", 10)
	consumers := []pulsar.Consumer{mustSubscribe(t, c, opts("a")), mustSubscribe(t, c, opts("b"))}
	p := mustProducer(t, c, pulsar.ProducerOptions{Topic: topic, BatchingMaxMessages: 20, BatchingMaxPublishDelay: 50 * time.Millisecond})
	const n, keys = 1000, 16
	var msgs []*pulsar.ProducerMessage
	for i := range n {
		msgs = append(msgs, &pulsar.ProducerMessage{Key: fmt.Sprintf("k%d", i%keys), Payload: []byte(fmt.Sprint(i))})
	}
	sendAll(t, ctx, p, msgs)

	type held struct{ consumer, n int }
	holder := map[string]*held{}           // keys with messages received and not yet acknowledged
	unacked := make([][]pulsar.Message, 3) // by consumer, in the order received
	last := map[string]int{}
	ackOldest := func(i int) {
		m := unacked[i][0]
		unacked[i] = unacked[i][1:]
		h := holder[m.Key()]
		if h.n--; h.n == 0 {
			delete(holder, m.Key())
		}
		consumers[i].Ack(m)
	}
	for seen := 0; seen < n; {
		if seen >= n/3 && len(consumers) == 2 {
			consumers = append(consumers, mustSubscribe(t, c, opts("c")))
		}
		progressed := false
		for i, cons := range consumers {
			select {
			case m := <-cons.Chan():
				progressed = true
				seen++
				k := m.Key()
				if h := holder[k]; h != nil && h.consumer != i {
					t.Fatalf("key %s went to consumer %d while consumer %d held %d of its messages", k, i, h.consumer, h.n)
				}
				if holder[k] == nil {
					holder[k] = &held{consumer: i}
				}
				holder[k].n++
				var v int
				fmt.Sscan(string(m.Payload()), &v)
				if prev, ok := last[k]; ok && v <= prev {
					t.Fatalf("key %s out of order: %d after %d", k, v, prev)
				}
				last[k] = v
				unacked[i] = append(unacked[i], m)
				if len(unacked[i]) > 5 { // hold some back, so keys are held when the third joins
					ackOldest(i)
				}
			default:
			}
		}
		if !progressed {
			for i := range consumers {
				if len(unacked[i]) > 0 {
					ackOldest(i)
				}
			}
			select {
			case <-ctx.Done():
				t.Fatalf("received %d of %d", seen, n)
			case <-time.After(time.Millisecond):
			}
		}
	}
}

// keySharedSetUp starts a broker and a client, and gives consumer options
// of one key_shared subscription to a new topic, by consumer name.
func keySharedSetUp(t *testing.T, prefix string, queue int) (pulsar.Client, context.Context, string, func(string) pulsar.ConsumerOptions) {
	c := newClient(t, startBroker(t, Config{}))
	topic := uniqueTopic(prefix)
	return c, testCtx(t), topic, func(name string) pulsar.ConsumerOptions {
		return pulsar.ConsumerOptions{Topic: topic, SubscriptionName: "s", Type: pulsar.KeyShared, Name: name,
			ReceiverQueueSize: queue, SubscriptionInitialPosition: pulsar.SubscriptionPositionEarliest}
	}
}
