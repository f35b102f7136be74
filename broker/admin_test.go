package broker

import (
	"errors"
	"sort"
	"strings"
	"testing"

	"github.com/apache/pulsar-client-go/pulsar"
	"github.com/apache/pulsar-client-go/pulsaradmin"
	"github.com/apache/pulsar-client-go/pulsaradmin/pkg/rest"
	"github.com/apache/pulsar-client-go/pulsaradmin/pkg/utils"
	"github.com/google/go-cmp/cmp"
)

// newAdmin returns Pulsar's own admin client pointed at b, so the admin
// endpoint's REST shapes are checked against a real client.
func newAdmin(t *testing.T, b *Broker) pulsaradmin.Client {
	t.Helper()
	a, err := pulsaradmin.NewClient(&pulsaradmin.Config{WebServiceURL: b.AdminURL()})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func mustTopicName(t *testing.T, s string) utils.TopicName {
	t.Helper()
	n, err := utils.GetTopicName(s)
	if err != nil {
		t.Fatal(err)
	}
	return *n
}

func TestAdminTopics(t *testing.T) {
	b := startBroker(t, Config{AdminListen: "127.0.0.1:0"})
	a := newAdmin(t, b)
	ns, err := utils.GetNamespaceName("public/admin-topics")
	if err != nil {
		t.Fatal(err)
	}
	plain := mustTopicName(t, "persistent://public/admin-topics/plain")
	parted := mustTopicName(t, "persistent://public/admin-topics/parted")
	if err := a.Topics().Create(plain, 0); err != nil {
		t.Fatalf("create non-partitioned: %v", err)
	}
	if err := a.Topics().Create(parted, 3); err != nil {
		t.Fatalf("create partitioned: %v", err)
	}
	for _, tc := range []struct {
		topic utils.TopicName
		want  int
	}{{plain, 0}, {parted, 3}} {
		md, err := a.Topics().GetMetadata(tc.topic)
		if err != nil || md.Partitions != tc.want {
			t.Errorf("metadata of %s: %+v, %v; want %d partitions", tc.topic.String(), md, err, tc.want)
		}
	}
	if err := a.Topics().Create(parted, 2); err == nil {
		t.Error("shrinking a partitioned topic succeeded")
	}

	partitioned, nonPartitioned, err := a.Topics().List(*ns)
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(nonPartitioned)
	if diff := cmp.Diff([]string{"persistent://public/admin-topics/parted"}, partitioned); diff != "" {
		t.Errorf("partitioned topics (-want +got):\n%s", diff)
	}
	// As Pulsar does, the non-partitioned list holds each partition.
	want := []string{
		"persistent://public/admin-topics/parted-partition-0",
		"persistent://public/admin-topics/parted-partition-1",
		"persistent://public/admin-topics/parted-partition-2",
		"persistent://public/admin-topics/plain",
	}
	if diff := cmp.Diff(want, nonPartitioned); diff != "" {
		t.Errorf("non-partitioned topics (-want +got):\n%s", diff)
	}
}

func TestAdminSubscriptionsAndStats(t *testing.T) {
	b := startBroker(t, Config{AdminListen: "127.0.0.1:0"})
	a := newAdmin(t, b)
	c := newClient(t, b)
	ctx := testCtx(t)
	topic := uniqueTopic("admin-stats")
	tn := mustTopicName(t, topic)

	cons := mustSubscribe(t, c, pulsar.ConsumerOptions{Topic: topic, SubscriptionName: "reader", Name: "r1",
		SubscriptionInitialPosition: pulsar.SubscriptionPositionEarliest})
	if err := a.Subscriptions().Create(tn, "created", utils.Earliest); err != nil {
		t.Fatalf("create subscription: %v", err)
	}
	p := mustProducer(t, c, pulsar.ProducerOptions{Topic: topic, Name: "writer", DisableBatching: true})
	sendAll(t, ctx, p, payloads("m", 10))
	receive(t, ctx, cons, 4)

	subs, err := a.Subscriptions().List(tn)
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(subs)
	if diff := cmp.Diff([]string{"created", "reader"}, subs); diff != "" {
		t.Errorf("subscriptions (-want +got):\n%s", diff)
	}

	var st utils.TopicStats
	waitFor(t, func() bool {
		st, err = a.Topics().GetStats(tn)
		// The acks are grouped, and the last messages may still be on
		// their way to the consumer.
		return err == nil && st.Subscriptions["reader"].MsgBacklog == 6 && st.MsgCounterOut == 10
	})
	type summary struct {
		In, Out     int64
		Publishers  []string
		Backlogs    map[string]int64
		Types       map[string]string
		Consumers   []string
		Dedup       string
		StorageSize bool
	}
	got := summary{In: st.MsgCounterIn, Out: st.MsgCounterOut, Backlogs: map[string]int64{}, Types: map[string]string{},
		Dedup: st.DeDuplicationStatus, StorageSize: st.StorageSize > 0}
	for _, p := range st.Publishers {
		got.Publishers = append(got.Publishers, p.ProducerName)
	}
	for name, s := range st.Subscriptions {
		got.Backlogs[name] = s.MsgBacklog
		got.Types[name] = s.SubType
		for _, c := range s.Consumers {
			got.Consumers = append(got.Consumers, name+"/"+c.ConsumerName)
		}
	}
	wantSummary := summary{In: 10, Out: 10, Publishers: []string{"writer"},
		Backlogs: map[string]int64{"reader": 6, "created": 10}, Types: map[string]string{"reader": "Exclusive", "created": "Exclusive"},
		Consumers: []string{"reader/r1"}, Dedup: "Enabled", StorageSize: true}
	if diff := cmp.Diff(wantSummary, got); diff != "" {
		t.Errorf("stats (-want +got):\n%s", diff)
	}

	// A subscription with a consumer is refused unless forced.
	if err := a.Subscriptions().Delete(tn, "reader"); err == nil {
		t.Error("deleting a subscription with a consumer succeeded")
	}
	if err := a.Subscriptions().Delete(tn, "created"); err != nil {
		t.Errorf("delete idle subscription: %v", err)
	}
	if err := a.Subscriptions().ForceDelete(tn, "reader"); err != nil {
		t.Errorf("force delete: %v", err)
	}
	waitFor(t, func() bool {
		subs, err := a.Subscriptions().List(tn)
		return err == nil && len(subs) <= 1 // the client may subscribe again
	})
	var restErr rest.Error
	if err := a.Subscriptions().Delete(tn, "missing"); !errors.As(err, &restErr) || restErr.Code != 404 {
		t.Errorf("deleting a missing subscription: %v, want a 404", err)
	}
	_, err = a.Topics().GetStats(mustTopicName(t, uniqueTopic("never-used")))
	if !errors.As(err, &restErr) || restErr.Code != 404 || !strings.Contains(restErr.Reason, "not found") {
		t.Errorf("stats of a missing topic: %v, want a 404 with a reason", err)
	}
}

func TestAdminPartitionedStats(t *testing.T) {
	b := startBroker(t, Config{AdminListen: "127.0.0.1:0"})
	a := newAdmin(t, b)
	c := newClient(t, b)
	ctx := testCtx(t)
	topic := uniqueTopic("admin-parted")
	tn := mustTopicName(t, topic)
	if err := a.Topics().Create(tn, 2); err != nil {
		t.Fatal(err)
	}
	mustSubscribe(t, c, pulsar.ConsumerOptions{Topic: topic, SubscriptionName: "s",
		SubscriptionInitialPosition: pulsar.SubscriptionPositionEarliest, ReceiverQueueSize: 1})
	p := mustProducer(t, c, pulsar.ProducerOptions{Topic: topic, DisableBatching: true})
	var msgs []*pulsar.ProducerMessage
	for i := range 20 {
		msgs = append(msgs, &pulsar.ProducerMessage{Key: string(rune('a' + i)), Payload: []byte("x")})
	}
	sendAll(t, ctx, p, msgs)
	if err := a.Subscriptions().Create(tn, "made", utils.Earliest); err != nil {
		t.Fatalf("create subscription on a partitioned topic: %v", err)
	}
	subs, err := a.Subscriptions().List(tn)
	if diff := cmp.Diff([]string{"made", "s"}, subs); err != nil || diff != "" {
		t.Errorf("subscriptions of a partitioned topic, err %v (-want +got):\n%s", err, diff)
	}
	st, err := a.Topics().GetPartitionedStats(tn, true)
	if err != nil {
		t.Fatal(err)
	}
	var perPartition int64
	for _, ps := range st.Partitions {
		perPartition += ps.Subscriptions["s"].MsgBacklog
	}
	if st.Metadata.Partitions != 2 || len(st.Partitions) != 2 || st.Subscriptions["s"].MsgBacklog != 20 || perPartition != 20 ||
		st.Subscriptions["made"].MsgBacklog != 20 {
		t.Fatalf("partitioned stats: %d partitions, %d reported, backlog %d (per partition %d, made %d); want 2, 2, 20, 20, 20",
			st.Metadata.Partitions, len(st.Partitions), st.Subscriptions["s"].MsgBacklog, perPartition, st.Subscriptions["made"].MsgBacklog)
	}
	if err := a.Subscriptions().Delete(tn, "made"); err != nil {
		t.Errorf("delete subscription of a partitioned topic: %v", err)
	}
	if subs, _ := a.Subscriptions().List(tn); len(subs) != 1 {
		t.Errorf("subscriptions after delete: %v", subs)
	}
}

func TestAdminCompaction(t *testing.T) {
	b := startBroker(t, Config{AdminListen: "127.0.0.1:0"})
	a := newAdmin(t, b)
	c := newClient(t, b)
	ctx := testCtx(t)
	topic := uniqueTopic("admin-compact")
	tn := mustTopicName(t, topic)
	p := mustProducer(t, c, pulsar.ProducerOptions{Topic: topic, DisableBatching: true})
	sendAll(t, ctx, p, []*pulsar.ProducerMessage{
		{Key: "k", Payload: []byte("old")}, {Key: "k", Payload: []byte("new")}})
	if err := a.Topics().Compact(tn); err != nil {
		t.Fatalf("compact: %v", err)
	}
	status, err := a.Topics().CompactStatus(tn)
	if err != nil || status.Status != utils.SUCCESS {
		t.Fatalf("compaction status %+v, %v; want SUCCESS", status, err)
	}
	r, err := c.CreateReader(pulsar.ReaderOptions{Topic: topic, StartMessageID: pulsar.EarliestMessageID(), ReadCompacted: true})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	m, err := r.Next(ctx)
	if err != nil || string(m.Payload()) != "new" {
		t.Fatalf("compacted read: %v, %v; want new", m, err)
	}
}
