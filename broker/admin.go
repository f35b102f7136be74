package broker

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
)

// adminHandler serves the few admin calls tools need, in the shapes of
// Pulsar's REST API (/admin/v2/...).
func (b *Broker) adminHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /admin/v2/clusters", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, []string{"standalone"})
	})
	mux.HandleFunc("GET /admin/v2/tenants", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, b.tenants())
	})
	mux.HandleFunc("GET /admin/v2/namespaces/{tenant}", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, b.namespaces(r.PathValue("tenant")))
	})
	const ns = "/admin/v2/{domain}/{tenant}/{namespace}"
	mux.HandleFunc("GET "+ns, b.adminListTopics)
	mux.HandleFunc("GET "+ns+"/partitioned", b.adminListPartitioned)
	mux.HandleFunc("PUT "+ns+"/{topic}/partitions", b.adminCreatePartitioned)
	mux.HandleFunc("GET "+ns+"/{topic}/partitions", b.adminGetPartitions)
	mux.HandleFunc("GET "+ns+"/{topic}/subscriptions", b.adminSubscriptions)
	mux.HandleFunc("GET "+ns+"/{topic}/stats", b.adminStats)
	mux.HandleFunc("GET "+ns+"/{topic}/partitioned-stats", b.adminPartitionedStats)
	mux.HandleFunc("DELETE "+ns+"/{topic}/subscription/{sub}", b.adminUnsubscribe)
	mux.HandleFunc("PUT "+ns+"/{topic}/compaction", b.adminCompact)
	mux.HandleFunc("GET "+ns+"/{topic}/compaction", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, map[string]string{"status": "SUCCESS"})
	})
	return mux
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

func (b *Broker) adminCreatePartitioned(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 64))
	if err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(body)))
	if err != nil {
		writeError(w, http.StatusBadRequest, fmt.Errorf("body must be the number of partitions: %w", err))
		return
	}
	if err := b.CreatePartitionedTopic(pathTopic(r), n); err != nil {
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

func (b *Broker) adminSubscriptions(w http.ResponseWriter, r *http.Request) {
	t := b.existingTopic(pathTopic(r))
	if t == nil {
		writeError(w, http.StatusNotFound, errors.New("topic not found"))
		return
	}
	out := []string{}
	for _, s := range t.subscriptions() {
		out = append(out, s.name)
	}
	writeJSON(w, out)
}

// TopicStats is the subset of Pulsar's topic stats the broker reports.
type TopicStats struct {
	MsgInCounter    int64                        `json:"msgInCounter"`
	BytesInCounter  int64                        `json:"bytesInCounter"`
	MsgOutCounter   int64                        `json:"msgOutCounter"`
	BytesOutCounter int64                        `json:"bytesOutCounter"`
	StorageSize     int64                        `json:"storageSize"`
	Publishers      []PublisherStats             `json:"publishers"`
	Subscriptions   map[string]SubscriptionStats `json:"subscriptions"`
}

// PublisherStats describes one connected producer.
type PublisherStats struct {
	ProducerName string `json:"producerName"`
}

// SubscriptionStats describes one subscription and its consumers.
type SubscriptionStats struct {
	Type            string          `json:"type"`
	MsgBacklog      int64           `json:"msgBacklog"`
	UnackedMessages int64           `json:"unackedMessages"`
	MsgOutCounter   int64           `json:"msgOutCounter"`
	BytesOutCounter int64           `json:"bytesOutCounter"`
	IsDurable       bool            `json:"isDurable"`
	Consumers       []ConsumerStats `json:"consumers"`
}

// ConsumerStats describes one consumer.
type ConsumerStats struct {
	ConsumerName     string `json:"consumerName"`
	AvailablePermits int64  `json:"availablePermits"`
	UnackedMessages  int64  `json:"unackedMessages"`
}

// Stats returns a topic's stats, as the admin endpoint reports them.
func (b *Broker) Stats(topicName string) (TopicStats, error) {
	t := b.existingTopic(topicName)
	if t == nil {
		return TopicStats{}, fmt.Errorf("topic %s not found", topicName)
	}
	return t.stats(), nil
}

func (t *topic) stats() TopicStats {
	st := TopicStats{
		MsgInCounter: t.msgIn.Load(), BytesInCounter: t.bytesIn.Load(),
		MsgOutCounter: t.msgOut.Load(), BytesOutCounter: t.bytesOut.Load(),
		StorageSize: t.storedSize.Load(), Publishers: []PublisherStats{}, Subscriptions: map[string]SubscriptionStats{},
	}
	t.mu.RLock()
	for name := range t.producers {
		st.Publishers = append(st.Publishers, PublisherStats{ProducerName: name})
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
		ss.Consumers = append(ss.Consumers, ConsumerStats{ConsumerName: c.name, AvailablePermits: c.permits, UnackedMessages: int64(c.unacked)})
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
			agg.MsgOutCounter += ss.MsgOutCounter
			agg.BytesOutCounter += ss.BytesOutCounter
			agg.Consumers = append(agg.Consumers, ss.Consumers...)
			out.Subscriptions[sn] = agg
		}
	}
	writeJSON(w, out)
}

func (b *Broker) adminUnsubscribe(w http.ResponseWriter, r *http.Request) {
	if err := b.unsubscribeByName(pathTopic(r), r.PathValue("sub")); err != nil {
		writeError(w, http.StatusPreconditionFailed, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (b *Broker) adminCompact(w http.ResponseWriter, r *http.Request) {
	if err := b.Compact(pathTopic(r)); err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
