package broker

import (
	"testing"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"
	"github.com/apache/pulsar-client-go/pulsaradmin/pkg/utils"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// TestTopicStatsClients: topic stats, read with pulsaradmin's
// utils.TopicStats, describe each publisher and consumer as Pulsar's do:
// name, access mode, address, when it connected, the client's version and
// the properties it was created with.
func TestTopicStatsClients(t *testing.T) {
	b := startBroker(t, Config{AdminListen: "127.0.0.1:0"})
	c := newClient(t, b)
	topic := uniqueTopic("stats-clients")
	before := time.Now().Add(-time.Second)
	p := mustProducer(t, c, pulsar.ProducerOptions{Topic: topic, Name: "writer",
		ProducerAccessMode: pulsar.ProducerAccessModeExclusive, Properties: map[string]string{"app": "w"}})
	mustSubscribe(t, c, pulsar.ConsumerOptions{Topic: topic, SubscriptionName: "s", Name: "reader",
		Properties: map[string]string{"app": "r"}})
	sendAll(t, testCtx(t), p, payloads("m", 3))

	st, err := newAdmin(t, b).Topics().GetStats(mustTopicName(t, topic))
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Publishers) != 1 || len(st.Subscriptions["s"].Consumers) != 1 {
		t.Fatalf("publishers %+v, subscriptions %+v: want one of each", st.Publishers, st.Subscriptions)
	}
	pub, cons := st.Publishers[0], st.Subscriptions["s"].Consumers[0]
	ignore := cmpopts.IgnoreFields(utils.PublisherStats{}, "ProducerID", "Address", "ConnectedSince", "ClientVersion")
	want := utils.PublisherStats{ProducerName: "writer", AccessModel: "Exclusive", Metadata: map[string]string{"app": "w"}}
	if diff := cmp.Diff(want, pub, ignore); diff != "" {
		t.Errorf("publisher (-want +got):\n%s", diff)
	}
	if cons.ConsumerName != "reader" || !cmp.Equal(cons.Metadata, map[string]string{"app": "r"}) {
		t.Errorf("consumer %+v: want reader with metadata app=r", cons)
	}
	for _, cl := range []struct{ who, address, since, version string }{
		{"publisher", pub.Address, pub.ConnectedSince, pub.ClientVersion},
		{"consumer", cons.Address, cons.ConnectedSince, cons.ClientVersion},
	} {
		since, err := time.Parse(statsTimeFormat, cl.since)
		if err != nil || since.Before(before) || since.After(time.Now()) {
			t.Errorf("%s connectedSince %q (%v): want the time it connected", cl.who, cl.since, err)
		}
		if cl.address == "" || cl.version == "" {
			t.Errorf("%s address %q, clientVersion %q: want both", cl.who, cl.address, cl.version)
		}
	}
	t.Logf("client version %q, address %q", pub.ClientVersion, pub.Address)
}
