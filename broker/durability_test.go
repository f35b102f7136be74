package broker

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"
	"github.com/google/go-cmp/cmp"
)

func TestDedupAcrossProducerRestart(t *testing.T) {
	b := startBroker(t, Config{})
	c := newClient(t, b)
	ctx := testCtx(t)
	topic := uniqueTopic("dedup")
	cons := mustSubscribe(t, c, pulsar.ConsumerOptions{Topic: topic, SubscriptionName: "s",
		SubscriptionInitialPosition: pulsar.SubscriptionPositionEarliest})

	send := func(from, to int) {
		p, err := c.CreateProducer(pulsar.ProducerOptions{Topic: topic, Name: "writer", DisableBatching: true})
		if err != nil {
			t.Fatal(err)
		}
		defer p.Close()
		var msgs []*pulsar.ProducerMessage
		for i := from; i < to; i++ {
			seq := int64(i)
			msgs = append(msgs, &pulsar.ProducerMessage{Payload: []byte(fmt.Sprintf("m-%d", i)), SequenceID: &seq})
		}
		sendAll(t, ctx, p, msgs)
	}
	send(0, 10)
	send(5, 15) // a replay after a restart: 5..9 are duplicates

	got := receive(t, ctx, cons, 15)
	if diff := cmp.Diff(wantStrings("m", 0, 15), got); diff != "" {
		t.Fatalf("messages differ (-want +got):\n%s", diff)
	}
	// A new producer of the same name continues after the stored sequence
	// id; had the broker forgotten it, these would be dropped.
	p := mustProducer(t, c, pulsar.ProducerOptions{Topic: topic, Name: "writer", DisableBatching: true})
	sendAll(t, ctx, p, payloads("n", 3))
	if diff := cmp.Diff(wantStrings("n", 0, 3), receive(t, ctx, cons, 3)); diff != "" {
		t.Fatalf("after the replay (-want +got):\n%s", diff)
	}
}

func TestRestartKeepsAcknowledgedMessages(t *testing.T) {
	for _, policy := range []FsyncPolicy{FsyncAlways, FsyncInterval, FsyncNever} {
		t.Run(string(policy), func(t *testing.T) {
			dir := t.TempDir()
			topic := uniqueTopic("restart")
			cfg := Config{DataDir: dir, Fsync: policy}

			b1 := startBroker(t, cfg)
			c1 := newClient(t, b1)
			ctx := testCtx(t)
			cons := mustSubscribe(t, c1, pulsar.ConsumerOptions{Topic: topic, SubscriptionName: "s",
				SubscriptionInitialPosition: pulsar.SubscriptionPositionEarliest})
			p := mustProducer(t, c1, pulsar.ProducerOptions{Topic: topic, Name: "writer", DisableBatching: true})
			sendAll(t, ctx, p, payloads("m", 1000))
			receive(t, ctx, cons, 400) // acknowledged: must not come back
			waitFor(t, func() bool {
				st, _ := b1.Stats(topic)
				return st.Subscriptions["s"].MsgBacklog == 600
			})
			c1.Close()
			if err := b1.Close(); err != nil {
				t.Fatal(err)
			}

			b2 := startBroker(t, cfg)
			c2 := newClient(t, b2)
			// The same producer name continues after sequence id 999, which
			// the broker rebuilt from its log; had it not, these would be
			// dropped.
			p2 := mustProducer(t, c2, pulsar.ProducerOptions{Topic: topic, Name: "writer"})
			sendAll(t, ctx, p2, payloads("n", 10))
			if got := b2.existingTopic(topic).lastSequence("writer"); got != 1009 {
				t.Fatalf("stored sequence id of writer %d, want 1009", got)
			}
			cons2 := mustSubscribe(t, c2, pulsar.ConsumerOptions{Topic: topic, SubscriptionName: "s"})
			got := receive(t, ctx, cons2, 610)
			want := append(wantStrings("m", 400, 1000), wantStrings("n", 0, 10)...)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Fatalf("after restart (-want +got):\n%s", diff)
			}
		})
	}
}

// TestDedupBatches replays explicitly numbered messages in batches cut
// differently from the first time: a batch wholly stored is dropped, and one
// that is partly new is stored whole, so nothing is lost.
func TestDedupBatches(t *testing.T) {
	b := startBroker(t, Config{})
	c := newClient(t, b)
	ctx := testCtx(t)
	topic := uniqueTopic("dedup-batches")
	cons := mustSubscribe(t, c, pulsar.ConsumerOptions{Topic: topic, SubscriptionName: "s",
		SubscriptionInitialPosition: pulsar.SubscriptionPositionEarliest})
	send := func(from, to int) {
		p := mustProducer(t, c, pulsar.ProducerOptions{Topic: topic, Name: "batcher",
			BatchingMaxMessages: uint(to - from), BatchingMaxPublishDelay: time.Hour})
		defer p.Close()
		var msgs []*pulsar.ProducerMessage
		for i := from; i < to; i++ {
			seq := int64(i) * 100
			msgs = append(msgs, &pulsar.ProducerMessage{Payload: []byte(fmt.Sprintf("m-%d", i)), SequenceID: &seq})
		}
		sendAll(t, ctx, p, msgs)
	}
	send(0, 10)
	send(0, 10)  // the same batch again: dropped
	send(2, 8)   // wholly inside the stored one: dropped
	send(5, 15)  // partly new: stored whole
	send(10, 15) // wholly inside the last one: dropped
	got := receive(t, ctx, cons, 20)
	want := append(wantStrings("m", 0, 10), wantStrings("m", 5, 15)...)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("messages differ (-want +got):\n%s", diff)
	}
	if n := b.existingTopic(topic).length(); n != 2 {
		t.Fatalf("%d entries stored, want 2 batches", n)
	}
}

// TestDedupSurvivesRestart replays sequence ids across a broker restart, as
// an effectively-once producer does after a crash: those already stored are
// acknowledged and dropped.
func TestDedupSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	topic := uniqueTopic("dedup-restart")
	cfg := Config{DataDir: dir}
	send := func(c pulsar.Client, from, to int) {
		p := mustProducer(t, c, pulsar.ProducerOptions{Topic: topic, Name: "effectively-once", DisableBatching: true})
		defer p.Close()
		var msgs []*pulsar.ProducerMessage
		for i := from; i < to; i++ {
			seq := int64(i) << 28 // the shape of ids derived from input positions
			msgs = append(msgs, &pulsar.ProducerMessage{Payload: []byte(fmt.Sprintf("m-%d", i)), SequenceID: &seq})
		}
		sendAll(t, testCtx(t), p, msgs)
	}
	b1 := startBroker(t, cfg)
	c1 := newClient(t, b1)
	send(c1, 0, 20)
	c1.Close()
	if err := b1.Close(); err != nil {
		t.Fatal(err)
	}

	b2 := startBroker(t, cfg)
	c2 := newClient(t, b2)
	send(c2, 10, 30)
	cons := mustSubscribe(t, c2, pulsar.ConsumerOptions{Topic: topic, SubscriptionName: "s",
		SubscriptionInitialPosition: pulsar.SubscriptionPositionEarliest})
	if diff := cmp.Diff(wantStrings("m", 0, 30), receive(t, testCtx(t), cons, 30)); diff != "" {
		t.Fatalf("messages differ (-want +got):\n%s", diff)
	}
	if n := b2.existingTopic(topic).length(); n != 30 {
		t.Fatalf("%d entries stored, want 30: duplicates were kept", n)
	}
}

func TestRestartCutsTornTail(t *testing.T) {
	dir := t.TempDir()
	topic := uniqueTopic("torn")
	b1 := startBroker(t, Config{DataDir: dir, Fsync: FsyncAlways})
	c1 := newClient(t, b1)
	ctx := testCtx(t)
	sendAll(t, ctx, mustProducer(t, c1, pulsar.ProducerOptions{Topic: topic}), payloads("m", 5))
	c1.Close()
	b1.Close()

	logDir := filepath.Join(topicDir(dir, topic), "log")
	segs, _ := filepath.Glob(filepath.Join(logDir, "*.log"))
	if len(segs) != 1 {
		t.Fatalf("segments %v", segs)
	}
	f, err := os.OpenFile(segs[0], os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.Write([]byte{0, 0, 1, 0, 9, 9}) // half a record, as a crash mid-write leaves it
	f.Close()

	b2 := startBroker(t, Config{DataDir: dir})
	c2 := newClient(t, b2)
	cons := mustSubscribe(t, c2, pulsar.ConsumerOptions{Topic: topic, SubscriptionName: "s",
		SubscriptionInitialPosition: pulsar.SubscriptionPositionEarliest})
	p := mustProducer(t, c2, pulsar.ProducerOptions{Topic: topic, DisableBatching: true})
	sendAll(t, ctx, p, payloads("n", 1))
	got := receive(t, ctx, cons, 6)
	if diff := cmp.Diff(append(wantStrings("m", 0, 5), "n-0"), got); diff != "" {
		t.Fatalf("after restart (-want +got):\n%s", diff)
	}
}

func TestSchemaCompatibility(t *testing.T) {
	b := startBroker(t, Config{})
	c := newClient(t, b)
	const v1 = `{"type":"record","name":"R","fields":[{"name":"a","type":"string"}]}`
	for _, tc := range []struct {
		name    string
		schema  pulsar.Schema
		wantErr bool
	}{
		{"same", pulsar.NewAvroSchema(v1, nil), false},
		{"added field with default", pulsar.NewAvroSchema(`{"type":"record","name":"R","fields":[{"name":"a","type":"string"},{"name":"b","type":"int","default":0}]}`, nil), false},
		{"added field without default", pulsar.NewAvroSchema(`{"type":"record","name":"R","fields":[{"name":"a","type":"string"},{"name":"c","type":"int"}]}`, nil), true},
		{"changed field type", pulsar.NewAvroSchema(`{"type":"record","name":"R","fields":[{"name":"a","type":"int"}]}`, nil), true},
		{"other schema type", pulsar.NewStringSchema(nil), true},
		{"no schema", nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			topic := uniqueTopic("schema")
			mustProducer(t, c, pulsar.ProducerOptions{Topic: topic, Schema: pulsar.NewAvroSchema(v1, nil)})
			p, err := c.CreateProducer(pulsar.ProducerOptions{Topic: topic, Schema: tc.schema})
			if err == nil {
				p.Close()
			}
			if (err != nil) != tc.wantErr {
				t.Fatalf("create producer: err %v, want error %v", err, tc.wantErr)
			}
		})
	}
}

func TestSchemaConsumerRefused(t *testing.T) {
	b := startBroker(t, Config{})
	c := newClient(t, b)
	topic := uniqueTopic("schema-consumer")
	mustProducer(t, c, pulsar.ProducerOptions{Topic: topic, Schema: pulsar.NewStringSchema(nil)})
	_, err := c.Subscribe(pulsar.ConsumerOptions{Topic: topic, SubscriptionName: "s",
		Schema: pulsar.NewJSONSchema(`{"type":"record","name":"R","fields":[]}`, nil)})
	if err == nil {
		t.Fatal("consumer with an incompatible schema was accepted")
	}
}

func TestCompactedRead(t *testing.T) {
	b := startBroker(t, Config{})
	c := newClient(t, b)
	ctx := testCtx(t)
	topic := uniqueTopic("compacted")
	p := mustProducer(t, c, pulsar.ProducerOptions{Topic: topic, DisableBatching: true})
	var msgs []*pulsar.ProducerMessage
	for i := range 30 {
		msgs = append(msgs, &pulsar.ProducerMessage{Key: fmt.Sprintf("k%d", i%3), Payload: []byte(fmt.Sprintf("v%d", i))})
	}
	msgs = append(msgs, &pulsar.ProducerMessage{Payload: []byte("no key")})
	sendAll(t, ctx, p, msgs)
	if err := b.Compact(topic); err != nil {
		t.Fatal(err)
	}
	r, err := c.CreateReader(pulsar.ReaderOptions{Topic: topic, StartMessageID: pulsar.EarliestMessageID(), ReadCompacted: true})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var got []string
	for r.HasNext() {
		m, err := r.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, m.Key()+"="+string(m.Payload()))
	}
	if diff := cmp.Diff([]string{"k0=v27", "k1=v28", "k2=v29", "=no key"}, got); diff != "" {
		t.Fatalf("compacted read (-want +got):\n%s", diff)
	}

	// A plain subscription still sees every message.
	cons := mustSubscribe(t, c, pulsar.ConsumerOptions{Topic: topic, SubscriptionName: "all",
		SubscriptionInitialPosition: pulsar.SubscriptionPositionEarliest})
	if n := len(receive(t, ctx, cons, 31)); n != 31 {
		t.Fatalf("full read got %d", n)
	}
}

func TestBadFsyncPolicy(t *testing.T) {
	_, err := New(Config{Fsync: "sometimes"})
	if err == nil {
		t.Fatal("unknown fsync policy accepted")
	}
}

func TestUnbindableAddress(t *testing.T) {
	b := startBroker(t, Config{})
	other, err := New(Config{Listen: b.Addr().String(), Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	if err := other.Start(testCtx(t)); err == nil {
		other.Close()
		t.Fatal("second broker bound a used address")
	} else if !errors.Is(err, err) {
		t.Fatal(err)
	}
}

// TestGetSchemaByVersion: a consumer decodes each message with the schema
// version it was written with, which pulsar-client-go fetches by
// GET_SCHEMA.
func TestGetSchemaByVersion(t *testing.T) {
	b := startBroker(t, Config{})
	c := newClient(t, b)
	ctx := testCtx(t)
	topic := uniqueTopic("schema-versions")
	const v1 = `{"type":"record","name":"R","fields":[{"name":"a","type":"string"}]}`
	const v2 = `{"type":"record","name":"R","fields":[{"name":"a","type":"string"},{"name":"b","type":"int","default":0}]}`
	cons := mustSubscribe(t, c, pulsar.ConsumerOptions{Topic: topic, SubscriptionName: "s",
		Schema: pulsar.NewJSONSchema(v1, nil), SubscriptionInitialPosition: pulsar.SubscriptionPositionEarliest})
	type rec struct {
		A string `json:"a"`
		B int    `json:"b"`
	}
	for _, v := range []struct {
		def string
		msg rec
	}{{v1, rec{A: "one"}}, {v2, rec{A: "two", B: 2}}} {
		p := mustProducer(t, c, pulsar.ProducerOptions{Topic: topic, Schema: pulsar.NewJSONSchema(v.def, nil)})
		if _, err := p.Send(ctx, &pulsar.ProducerMessage{Value: v.msg}); err != nil {
			t.Fatal(err)
		}
		p.Close()
	}
	var got []rec
	var versions [][]byte
	for range 2 {
		m, err := cons.Receive(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var r rec
		if err := m.GetSchemaValue(&r); err != nil {
			t.Fatalf("decode with schema version %x: %v", m.SchemaVersion(), err)
		}
		got, versions = append(got, r), append(versions, m.SchemaVersion())
		cons.Ack(m)
	}
	if diff := cmp.Diff([]rec{{A: "one"}, {A: "two", B: 2}}, got); diff != "" {
		t.Fatalf("decoded (-want +got):\n%s", diff)
	}
	if len(versions[0]) == 0 || bytes.Equal(versions[0], versions[1]) {
		t.Fatalf("schema versions %x: want two different ones", versions)
	}
}
