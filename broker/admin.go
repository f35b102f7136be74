package broker

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"sort"
	"strings"

	"github.com/meshc/meshc/broker/internal/wire"
)

// adminHandler serves the few admin calls tools need, in the shapes of
// Pulsar's REST API (/admin/v2/...). Each call names what it needs of the
// caller's role: see guard.
func (b *Broker) adminHandler() http.Handler {
	mux := http.NewServeMux()
	handle := func(pattern string, need adminNeed, h http.HandlerFunc) { mux.HandleFunc(pattern, b.guard(need, h)) }
	handle("GET /admin/v2/clusters", needRole, func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, []string{"standalone"})
	})
	handle("GET /admin/v2/tenants", needSuperuser, func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, b.tenants())
	})
	handle("GET /admin/v2/namespaces/{tenant}", needSuperuser, func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, b.namespaces(r.PathValue("tenant")))
	})
	const ns = "/admin/v2/{domain}/{tenant}/{namespace}"
	handle("GET "+ns, needConsume, b.adminListTopics)
	handle("GET "+ns+"/partitioned", needConsume, b.adminListPartitioned)
	handle("PUT "+ns+"/{topic}", needProduce, b.adminCreateTopic)
	handle("PUT "+ns+"/{topic}/partitions", needProduce, b.adminCreatePartitioned)
	handle("POST "+ns+"/{topic}/partitions", needProduce, b.adminUpdatePartitioned)
	handle("GET "+ns+"/{topic}/partitions", needConsume, b.adminGetPartitions)
	handle("GET "+ns+"/{topic}/subscriptions", needConsume, b.adminSubscriptions)
	handle("GET "+ns+"/{topic}/stats", needConsume, b.adminStats)
	handle("GET "+ns+"/{topic}/partitioned-stats", needConsume, b.adminPartitionedStats)
	handle("PUT "+ns+"/{topic}/subscription/{sub}", needConsume, b.adminCreateSubscription)
	handle("DELETE "+ns+"/{topic}/subscription/{sub}", needConsume, b.adminUnsubscribe)
	handle("PUT "+ns+"/{topic}/compaction", needProduce, b.adminCompact)
	handle("GET "+ns+"/{topic}/compaction", needConsume, func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, map[string]string{"status": "SUCCESS", "lastError": ""})
	})
	b.schemaRoutes(handle) // schemaadmin.go
	for _, rt := range b.cfg.AdminRoutes {
		need := needConsume
		if rt.Write {
			need = needProduce
		}
		handle(rt.Pattern, need, rt.Handler)
	}
	return mux
}

// AdminRoute is an admin call another package serves on the broker's
// admin endpoints: Pattern as http.ServeMux reads it, with {tenant} and
// {namespace} wildcards naming the namespace it acts on. With
// authorization on, the caller's role needs produce on that namespace if
// Write, else consume.
type AdminRoute struct {
	Pattern string
	Write   bool
	Handler http.HandlerFunc
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	if err := json.NewEncoder(w).Encode(v); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
	}
}

// writeError answers in Pulsar's error shape, {"reason": "..."}.
func writeError(w http.ResponseWriter, code int, err error) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(map[string]string{"reason": err.Error()})
}

func pathTopic(r *http.Request) string {
	return r.PathValue("domain") + "://" + r.PathValue("tenant") + "/" + r.PathValue("namespace") + "/" + r.PathValue("topic")
}

func (b *Broker) tenants() []string {
	seen := map[string]bool{"public": true}
	for _, name := range b.Topics() {
		if n, err := parseTopic(name); err == nil {
			seen[n.tenant] = true
		}
	}
	return sortedKeys(seen)
}

func (b *Broker) namespaces(tenant string) []string {
	seen := map[string]bool{}
	if tenant == "public" {
		seen["public/default"] = true
	}
	for _, name := range b.Topics() {
		if n, err := parseTopic(name); err == nil && n.tenant == tenant {
			seen[n.tenant+"/"+n.namespace] = true
		}
	}
	return sortedKeys(seen)
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func (b *Broker) adminListTopics(w http.ResponseWriter, r *http.Request) {
	prefix := r.PathValue("domain") + "://" + r.PathValue("tenant") + "/" + r.PathValue("namespace") + "/"
	out := []string{}
	for _, name := range b.Topics() {
		if strings.HasPrefix(name, prefix) && hasPrefixDomain(name, r.PathValue("domain")) {
			out = append(out, name)
		}
	}
	writeJSON(w, out)
}

func (b *Broker) adminListPartitioned(w http.ResponseWriter, r *http.Request) {
	prefix := r.PathValue("domain") + "://" + r.PathValue("tenant") + "/" + r.PathValue("namespace") + "/"
	b.mu.Lock()
	out := []string{}
	for name := range b.partitioned {
		if strings.HasPrefix(name, prefix) {
			out = append(out, name)
		}
	}
	b.mu.Unlock()
	sort.Strings(out)
	writeJSON(w, out)
}

// adminCreateTopic creates a non-partitioned topic, as Pulsar's
// PUT .../{topic} does; it is 409 Conflict when the topic exists.
func (b *Broker) adminCreateTopic(w http.ResponseWriter, r *http.Request) {
	name := pathTopic(r)
	if b.existingTopic(name) != nil || b.partitions(name) > 0 {
		writeError(w, http.StatusConflict, fmt.Errorf("topic %s already exists", name))
		return
	}
	if _, _, err := b.topicFor(name); err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// partitionCount reads the body of a partitioned topic create or update:
// a bare number, or the object {"partitions": N, "properties": {...}}
// that newer clients send.
func partitionCount(r *http.Request) (int, error) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 64<<10))
	if err != nil {
		return 0, err
	}
	var n int
	if err := json.Unmarshal(body, &n); err == nil {
		return n, nil
	}
	var meta struct {
		Partitions *int `json:"partitions"`
	}
	if err := json.Unmarshal(body, &meta); err != nil || meta.Partitions == nil {
		return 0, fmt.Errorf("body must be the number of partitions or {\"partitions\": N}, not %.40q", body)
	}
	return *meta.Partitions, nil
}

// adminCreatePartitioned creates a partitioned topic; like Pulsar it is
// 409 Conflict when the topic exists, partitioned or not.
func (b *Broker) adminCreatePartitioned(w http.ResponseWriter, r *http.Request) {
	n, err := partitionCount(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	name := pathTopic(r)
	if b.partitions(name) > 0 {
		writeError(w, http.StatusConflict, fmt.Errorf("partitioned topic %s already exists; POST to the same path to add partitions", name))
		return
	}
	if err := b.CreatePartitionedTopic(name, n); err != nil {
		writeError(w, http.StatusConflict, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// adminUpdatePartitioned adds partitions to a partitioned topic.
func (b *Broker) adminUpdatePartitioned(w http.ResponseWriter, r *http.Request) {
	n, err := partitionCount(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	name := pathTopic(r)
	if b.partitions(name) == 0 {
		writeError(w, http.StatusNotFound, fmt.Errorf("partitioned topic %s not found; create it with PUT first", name))
		return
	}
	if err := b.CreatePartitionedTopic(name, n); err != nil {
		writeError(w, http.StatusConflict, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (b *Broker) adminGetPartitions(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, map[string]int{"partitions": b.partitions(pathTopic(r))})
}

// existingTopic returns a topic the broker already holds, without creating it.
func (b *Broker) existingTopic(name string) *topic {
	n, err := parseTopic(name)
	if err != nil {
		return nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.topics[n.String()]
}

// topicOrPartitions names the topics an admin call on name acts on: the
// partitions of a partitioned topic, else the topic itself.
func (b *Broker) topicOrPartitions(name string) []string {
	n := b.partitions(name)
	tn, err := parseTopic(name)
	if n == 0 || err != nil {
		return []string{name}
	}
	out := make([]string, n)
	for i := range out {
		out[i] = tn.withPartition(i).String()
	}
	return out
}

func (b *Broker) adminSubscriptions(w http.ResponseWriter, r *http.Request) {
	seen := map[string]bool{}
	found := false
	for _, name := range b.topicOrPartitions(pathTopic(r)) {
		if t := b.existingTopic(name); t != nil {
			found = true
			for _, s := range t.subscriptions() {
				seen[s.name] = true
			}
		}
	}
	if !found {
		writeError(w, http.StatusNotFound, fmt.Errorf("%w: topic %s", errNotFound, pathTopic(r)))
		return
	}
	writeJSON(w, sortedKeys(seen))
}

// TopicStats is the subset of Pulsar's topic stats the broker reports.
type TopicStats struct {
	MsgInCounter    int64 `json:"msgInCounter"`
	BytesInCounter  int64 `json:"bytesInCounter"`
	MsgOutCounter   int64 `json:"msgOutCounter"`
	BytesOutCounter int64 `json:"bytesOutCounter"`
	StorageSize     int64 `json:"storageSize"`
	// DeduplicationStatus is always "Enabled": the broker deduplicates
	// every named producer.
	DeduplicationStatus string                       `json:"deduplicationStatus"`
	Publishers          []PublisherStats             `json:"publishers"`
	Subscriptions       map[string]SubscriptionStats `json:"subscriptions"`
}

// PublisherStats describes one connected producer, as Pulsar's do.
type PublisherStats struct {
	ProducerName string `json:"producerName"`
	ProducerID   uint64 `json:"producerId"`
	AccessMode   string `json:"accessMode"`
	clientStats
}

// clientStats is what Pulsar's stats say of a producer's or consumer's
// client: its address, the time it connected (Pulsar's format), the
// client_version of its CONNECT, and the properties it was created with.
type clientStats struct {
	Address        string            `json:"address"`
	ConnectedSince string            `json:"connectedSince"`
	ClientVersion  string            `json:"clientVersion"`
	Metadata       map[string]string `json:"metadata"`
}

// SubscriptionStats describes one subscription and its consumers.
type SubscriptionStats struct {
	Type            string `json:"type"`
	MsgBacklog      int64  `json:"msgBacklog"`
	UnackedMessages int64  `json:"unackedMessages"`
	MsgOutCounter   int64  `json:"msgOutCounter"`
	BytesOutCounter int64  `json:"bytesOutCounter"`
	IsDurable       bool   `json:"isDurable"`
	// ActiveConsumerName is the consumer that receives everything on an
	// Exclusive or Failover subscription.
	ActiveConsumerName string          `json:"activeConsumerName,omitempty"`
	Consumers          []ConsumerStats `json:"consumers"`
	// MsgDelayed counts the messages held for delayed delivery.
	MsgDelayed int64 `json:"msgDelayed"`
}

// ConsumerStats describes one consumer.
type ConsumerStats struct {
	ConsumerName     string `json:"consumerName"`
	AvailablePermits int64  `json:"availablePermits"`
	UnackedMessages  int64  `json:"unackedMessages"`
	// BlockedConsumerOnUnackedMsgs says the consumer reached
	// Config.MaxUnackedPerConsumer and gets nothing until it acknowledges.
	BlockedConsumerOnUnackedMsgs bool `json:"blockedConsumerOnUnackedMsgs"`
	clientStats
}

// Stats returns a topic's stats, as the admin endpoint reports them.
func (b *Broker) Stats(topicName string) (TopicStats, error) {
	t := b.existingTopic(topicName)
	if t == nil {
		return TopicStats{}, fmt.Errorf("%w: topic %s", errNotFound, topicName)
	}
	return t.stats(), nil
}

func (t *topic) stats() TopicStats {
	st := TopicStats{
		MsgInCounter: t.msgIn.Load(), BytesInCounter: t.bytesIn.Load(),
		MsgOutCounter: t.msgOut.Load(), BytesOutCounter: t.bytesOut.Load(),
		StorageSize: t.storedSize.Load(), DeduplicationStatus: "Enabled", Publishers: []PublisherStats{}, Subscriptions: map[string]SubscriptionStats{},
	}
	t.mu.RLock()
	for _, p := range t.producers {
		st.Publishers = append(st.Publishers, p.stats())
	}
	t.mu.RUnlock()
	sort.Slice(st.Publishers, func(i, j int) bool { return st.Publishers[i].ProducerName < st.Publishers[j].ProducerName })
	for _, s := range t.subscriptions() {
		st.Subscriptions[s.name] = s.stats()
	}
	return st
}

func (s *subscription) stats() SubscriptionStats {
	backlog, unacked := s.backlog()
	s.mu.Lock()
	defer s.mu.Unlock()
	ss := SubscriptionStats{Type: s.typ.String(), MsgBacklog: backlog, UnackedMessages: unacked,
		MsgOutCounter: s.msgOut, BytesOutCounter: s.bytesOut, IsDurable: s.durable, Consumers: []ConsumerStats{}}
	for _, c := range s.consumers {
		ss.Consumers = append(ss.Consumers, ConsumerStats{ConsumerName: c.name, AvailablePermits: c.permits,
			UnackedMessages: int64(c.unacked), BlockedConsumerOnUnackedMsgs: c.unacked >= s.t.b.cfg.MaxUnackedPerConsumer,
			clientStats: c.conn.clientStats(c.since, c.metadata)})
	}
	ss.MsgDelayed = int64(len(s.delayed))
	if a := s.activeLocked(); a != nil && s.typ != wire.CommandSubscribe_Shared && s.typ != wire.CommandSubscribe_Key_Shared {
		ss.ActiveConsumerName = a.name
	}
	return ss
}

func (b *Broker) adminStats(w http.ResponseWriter, r *http.Request) {
	st, err := b.Stats(pathTopic(r))
	if err != nil {
		writeError(w, http.StatusNotFound, err)
		return
	}
	writeJSON(w, st)
}

func (b *Broker) adminPartitionedStats(w http.ResponseWriter, r *http.Request) {
	name := pathTopic(r)
	n := b.partitions(name)
	if n == 0 {
		writeError(w, http.StatusNotFound, fmt.Errorf("%s is not a partitioned topic", name))
		return
	}
	tn, _ := parseTopic(name)
	type partitionedStats struct {
		TopicStats
		Metadata   map[string]int        `json:"metadata"`
		Partitions map[string]TopicStats `json:"partitions"`
	}
	out := partitionedStats{Metadata: map[string]int{"partitions": n}, Partitions: map[string]TopicStats{}}
	out.DeduplicationStatus = "Enabled"
	out.Subscriptions = map[string]SubscriptionStats{}
	out.Publishers = []PublisherStats{}
	for i := range n {
		pn := tn.withPartition(i).String()
		st, err := b.Stats(pn)
		if err != nil {
			continue
		}
		out.Partitions[pn] = st
		out.MsgInCounter += st.MsgInCounter
		out.BytesInCounter += st.BytesInCounter
		out.MsgOutCounter += st.MsgOutCounter
		out.BytesOutCounter += st.BytesOutCounter
		out.StorageSize += st.StorageSize
		out.Publishers = append(out.Publishers, st.Publishers...)
		for sn, ss := range st.Subscriptions {
			agg := out.Subscriptions[sn]
			agg.Type, agg.IsDurable = ss.Type, ss.IsDurable
			agg.MsgBacklog += ss.MsgBacklog
			agg.UnackedMessages += ss.UnackedMessages
			agg.MsgDelayed += ss.MsgDelayed
			agg.MsgOutCounter += ss.MsgOutCounter
			agg.BytesOutCounter += ss.BytesOutCounter
			agg.Consumers = append(agg.Consumers, ss.Consumers...)
			out.Subscriptions[sn] = agg
		}
	}
	writeJSON(w, out)
}

// adminCreateSubscription creates a durable subscription at a position:
// the body is a message id, {"ledgerId": -1, "entryId": -1} for the
// earliest and Long.MAX_VALUE for the latest, as Pulsar's clients send.
func (b *Broker) adminCreateSubscription(w http.ResponseWriter, r *http.Request) {
	var id struct {
		LedgerID int64 `json:"ledgerId"`
		EntryID  int64 `json:"entryId"`
	}
	id.LedgerID, id.EntryID = math.MaxInt64, math.MaxInt64
	body, err := io.ReadAll(io.LimitReader(r.Body, 64<<10))
	if err == nil && len(bytes.TrimSpace(body)) > 0 {
		err = json.Unmarshal(body, &id)
	}
	if err != nil {
		writeError(w, http.StatusBadRequest, fmt.Errorf("body must be a message id such as {\"ledgerId\": -1, \"entryId\": -1}: %w", err))
		return
	}
	for _, name := range b.topicOrPartitions(pathTopic(r)) {
		t, _, err := b.topicFor(name)
		if err != nil {
			writeError(w, http.StatusBadRequest, err)
			return
		}
		pos := messageIDPosition(t, &wire.MessageIdData{LedgerId: proto64(uint64(id.LedgerID)), EntryId: proto64(uint64(id.EntryID))})
		if _, created := t.subscription(r.PathValue("sub"), wire.CommandSubscribe_Exclusive, true, pos); !created {
			writeError(w, http.StatusConflict, fmt.Errorf("subscription %s already exists on %s", r.PathValue("sub"), t.name))
			return
		}
	}
	w.WriteHeader(http.StatusNoContent)
}

// adminUnsubscribe deletes a subscription: 404 when there is none, 412
// Precondition Failed while consumers are attached and force is not set.
func (b *Broker) adminUnsubscribe(w http.ResponseWriter, r *http.Request) {
	force := r.URL.Query().Get("force") == "true"
	var err error
	for _, name := range b.topicOrPartitions(pathTopic(r)) {
		if err = b.unsubscribeByName(name, r.PathValue("sub"), force); err != nil {
			break
		}
	}
	switch {
	case errors.Is(err, errNotFound):
		writeError(w, http.StatusNotFound, err)
	case err != nil:
		writeError(w, http.StatusPreconditionFailed, err)
	default:
		w.WriteHeader(http.StatusNoContent)
	}
}

func (b *Broker) adminCompact(w http.ResponseWriter, r *http.Request) {
	if err := b.Compact(pathTopic(r)); err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
