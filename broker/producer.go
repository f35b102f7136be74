package broker

import (
	"time"

	"github.com/meshc/meshc/broker/internal/wire"
)

// producer is one client producer on a topic.
type producer struct {
	id      uint64
	name    string
	topic   *topic
	conn    *conn
	version []byte // the schema version it was admitted with
	// For stats: when it connected, its access mode and its metadata
	// (ProducerOptions.Properties).
	since    time.Time
	mode     int32
	metadata map[string]string
}

func newProducer(c *conn, id uint64, name string, t *topic, cmd *wire.CommandProducer) *producer {
	return &producer{id: id, name: name, topic: t, conn: c, since: time.Now(),
		mode: cmd.GetProducerAccessMode(), metadata: keyValues(cmd.GetMetadata())}
}

// keyValues turns the protocol's metadata list into a map; nil when empty.
func keyValues(kvs []*wire.KeyValue) map[string]string {
	if len(kvs) == 0 {
		return nil
	}
	m := make(map[string]string, len(kvs))
	for _, kv := range kvs {
		m[kv.GetKey()] = kv.GetValue()
	}
	return m
}

// stats describes the producer as Pulsar's stats do.
func (p *producer) stats() PublisherStats {
	mode := accessModeNames[accessShared]
	if p.mode >= 0 && int(p.mode) < len(accessModeNames) {
		mode = accessModeNames[p.mode]
	}
	return PublisherStats{ProducerName: p.name, ProducerID: p.id, AccessMode: mode,
		clientStats: p.conn.clientStats(p.since, p.metadata)}
}

// statsTimeFormat is how Pulsar's stats write connectedSince.
const statsTimeFormat = "2006-01-02T15:04:05.000Z07:00"

// clientStats describes a producer's or consumer's client.
func (c *conn) clientStats(since time.Time, metadata map[string]string) clientStats {
	if metadata == nil {
		metadata = map[string]string{}
	}
	return clientStats{Address: c.nc.RemoteAddr().String(), ConnectedSince: since.UTC().Format(statsTimeFormat),
		ClientVersion: c.clientVersion, Metadata: metadata}
}

func (c *conn) producer(id uint64) *producer {
	c.pmu.Lock()
	defer c.pmu.Unlock()
	return c.producers[id]
}

func (c *conn) producerCount() int {
	c.pmu.Lock()
	defer c.pmu.Unlock()
	return len(c.producers) + len(c.waits)
}

func (c *conn) setProducer(p *producer) {
	c.pmu.Lock()
	defer c.pmu.Unlock()
	c.producers[p.id] = p
}

func (c *conn) setWaiting(p *producer) {
	c.pmu.Lock()
	defer c.pmu.Unlock()
	c.waits[p.id] = p
}

// dropProducer forgets a producer, admitted or waiting, and returns it.
func (c *conn) dropProducer(id uint64) *producer {
	c.pmu.Lock()
	defer c.pmu.Unlock()
	p := c.producers[id]
	if p == nil {
		p = c.waits[id]
	}
	delete(c.producers, id)
	delete(c.waits, id)
	return p
}

// createInitialSubscription creates the subscription a producer asks for
// on its topic, at the earliest position, unless it exists: what a
// dead-letter policy's InitialSubscriptionName does, so that nothing sent
// to the dead-letter topic goes unread.
func (c *conn) createInitialSubscription(t *topic, name string) {
	if name == "" {
		return
	}
	if _, created := t.subscription(name, wire.CommandSubscribe_Shared, true, 0); created {
		c.log.Debug("created initial subscription", "topic", t.name, "subscription", name)
	}
}
