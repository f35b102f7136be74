package broker

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/apache/pulsar-client-go/pulsaradmin/pkg/utils"
	"github.com/meshc/meshc/broker/internal/wire"
)

// maxSchemaBody bounds a schema posted to the admin endpoint.
const maxSchemaBody = 4 << 20

// schemaRoutes serves Pulsar's schema registry calls, as pulsaradmin's
// Schemas() and the namespace's schemaCompatibilityStrategy make them.
func (b *Broker) schemaRoutes(handle func(string, adminNeed, http.HandlerFunc)) {
	const s = "/admin/v2/schemas/{tenant}/{namespace}/{topic}"
	handle("GET "+s+"/schema", needConsume, b.adminGetSchema)
	handle("GET "+s+"/schema/{version}", needConsume, b.adminGetSchema)
	handle("GET "+s+"/schemas", needConsume, b.adminGetSchemas)
	handle("POST "+s+"/schema", needProduce, b.adminPostSchema)
	handle("DELETE "+s+"/schema", needProduce, b.adminDeleteSchema)
	handle("POST "+s+"/compatibility", needConsume, b.adminSchemaCompatibility)
	handle("POST "+s+"/version", needConsume, b.adminSchemaVersion)
	const ns = "/admin/v2/namespaces/{tenant}/{namespace}/schemaCompatibilityStrategy"
	handle("GET "+ns, needConsume, func(w http.ResponseWriter, r *http.Request) {
		// A bare JSON string without a newline: pulsaradmin parses the body as it is.
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, "%q", b.namespaceSchemaStrategy(r.PathValue("tenant")+"/"+r.PathValue("namespace")))
	})
	handle("PUT "+ns, needSuperuser, b.adminSetSchemaStrategy)
}

// schemaTopics are the topics a schema call acts on: the topic, or every
// partition of a partitioned one (reads use the first). Reads do not
// create topics: a topic that does not exist is left out.
func (b *Broker) schemaTopics(r *http.Request, create bool) ([]*topic, error) {
	name := "persistent://" + r.PathValue("tenant") + "/" + r.PathValue("namespace") + "/" + r.PathValue("topic")
	names := []string{name}
	if n := b.partitions(name); n > 0 {
		names = names[:0]
		for i := range n {
			names = append(names, fmt.Sprintf("%s-partition-%d", name, i))
		}
	}
	var out []*topic
	for _, n := range names {
		if !create {
			if t := b.existingTopic(n); t != nil {
				out = append(out, t)
			}
			continue
		}
		t, _, err := b.topicFor(n)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, nil
}

// schemaTopic is the topic a read acts on, or nil after answering 404.
func (b *Broker) schemaTopic(w http.ResponseWriter, r *http.Request) *topic {
	ts, err := b.schemaTopics(r, false)
	if err == nil && len(ts) == 0 {
		err = fmt.Errorf("%w: topic %s/%s/%s does not exist", errNoSchema, r.PathValue("tenant"), r.PathValue("namespace"), r.PathValue("topic"))
	}
	if err != nil {
		writeError(w, http.StatusNotFound, err)
		return nil
	}
	return ts[0]
}

// schemaResponse is Pulsar's GetSchemaResponse.
type schemaResponse struct {
	Version    int64             `json:"version"`
	Type       string            `json:"type"`
	Timestamp  int64             `json:"timestamp"`
	Data       string            `json:"data"`
	Properties map[string]string `json:"properties"`
}

func (t *topic) schemaResponse(i int) schemaResponse {
	v := t.schemas[i]
	props := v.Properties
	if props == nil {
		props = map[string]string{}
	}
	return schemaResponse{Version: int64(i), Type: schemaTypeName(v.Type), Timestamp: v.Timestamp, Data: string(v.Data), Properties: props}
}

func (b *Broker) adminGetSchema(w http.ResponseWriter, r *http.Request) {
	t := b.schemaTopic(w, r)
	if t == nil {
		return
	}
	t.mu.RLock()
	defer t.mu.RUnlock()
	live, base := t.live()
	i := base + len(live) - 1
	if v := r.PathValue("version"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			writeError(w, http.StatusBadRequest, fmt.Errorf("schema version %q is not a number", v))
			return
		}
		i = n
	}
	if i < base || i >= len(t.schemas) {
		writeError(w, http.StatusNotFound, fmt.Errorf("%w: topic %s has no schema version %d", errNoSchema, t.name, i))
		return
	}
	writeJSON(w, t.schemaResponse(i))
}

func (b *Broker) adminGetSchemas(w http.ResponseWriter, r *http.Request) {
	t := b.schemaTopic(w, r)
	if t == nil {
		return
	}
	t.mu.RLock()
	defer t.mu.RUnlock()
	live, base := t.live()
	out := []schemaResponse{}
	for i := range live {
		out = append(out, t.schemaResponse(base+i))
	}
	writeJSON(w, map[string]any{"getSchemaResponses": out})
}

// postedSchema reads Pulsar's PostSchemaPayload.
func postedSchema(r *http.Request) (schemaVersion, error) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxSchemaBody))
	if err != nil {
		return schemaVersion{}, err
	}
	var p utils.PostSchemaPayload
	if err := json.Unmarshal(body, &p); err != nil {
		return schemaVersion{}, fmt.Errorf(`body must be {"type": "AVRO", "schema": "...", "properties": {}}: %w`, err)
	}
	typ, ok := schemaTypeByName[strings.ToUpper(p.SchemaType)]
	if !ok {
		return schemaVersion{}, fmt.Errorf("unknown schema type %q; use one of Pulsar's: AVRO, JSON, PROTOBUF, PROTOBUF_NATIVE, STRING, INT64 and the like", p.SchemaType)
	}
	return schemaVersion{Type: int32(typ), Data: []byte(p.Schema), Properties: p.Properties}, nil
}

func (b *Broker) adminPostSchema(w http.ResponseWriter, r *http.Request) {
	v, err := postedSchema(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	ts, err := b.schemaTopics(r, true)
	if err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	version := 0
	for _, t := range ts {
		if version, err = t.addSchema(v); err != nil {
			code := http.StatusInternalServerError
			if errors.Is(err, errIncompatibleSchema) {
				code = http.StatusConflict
			}
			writeError(w, code, err)
			return
		}
	}
	writeJSON(w, map[string]any{"version": map[string]int{"version": version}})
}

func (b *Broker) adminDeleteSchema(w http.ResponseWriter, r *http.Request) {
	ts, err := b.schemaTopics(r, false)
	if err == nil && len(ts) == 0 {
		err = fmt.Errorf("%w: topic %s/%s/%s does not exist", errNoSchema, r.PathValue("tenant"), r.PathValue("namespace"), r.PathValue("topic"))
	}
	if err != nil {
		writeError(w, http.StatusNotFound, err)
		return
	}
	version := 0
	for _, t := range ts {
		if version, err = t.deleteSchema(); err != nil {
			code := http.StatusInternalServerError
			if errors.Is(err, errNoSchema) {
				code = http.StatusNotFound
			}
			writeError(w, code, err)
			return
		}
	}
	writeJSON(w, map[string]int{"version": version})
}

// adminSchemaCompatibility says whether the topic would take a schema,
// under its namespace's strategy, without storing it.
func (b *Broker) adminSchemaCompatibility(w http.ResponseWriter, r *http.Request) {
	v, err := postedSchema(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	ts, err := b.schemaTopics(r, false)
	if err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	strategy := b.schemaStrategy(r.PathValue("tenant") + "/" + r.PathValue("namespace"))
	ok := true // a topic that does not exist takes any schema
	if len(ts) > 0 {
		t := ts[0]
		t.mu.RLock()
		live, _ := t.live()
		ok = t.find(v) >= 0 || checkCompatible(live, v, strategy) == nil
		t.mu.RUnlock()
	}
	writeJSON(w, utils.IsCompatibility{IsCompatibility: ok, SchemaCompatibilityStrategy: strategy})
}

// adminSchemaVersion returns the version of a schema the topic holds.
func (b *Broker) adminSchemaVersion(w http.ResponseWriter, r *http.Request) {
	v, err := postedSchema(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	t := b.schemaTopic(w, r)
	if t == nil {
		return
	}
	t.mu.RLock()
	i := t.find(v)
	t.mu.RUnlock()
	if i < 0 {
		writeError(w, http.StatusNotFound, fmt.Errorf("%w: topic %s holds no such schema", errNoSchema, t.name))
		return
	}
	writeJSON(w, map[string]int{"version": i})
}

func (b *Broker) adminSetSchemaStrategy(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<10))
	if err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	name := strings.Trim(strings.TrimSpace(string(body)), `"`)
	s, err := utils.ParseSchemaCompatibilityStrategy(name)
	if err != nil {
		writeError(w, http.StatusBadRequest, fmt.Errorf("%w; use ALWAYS_COMPATIBLE, ALWAYS_INCOMPATIBLE, BACKWARD, FORWARD, FULL, their _TRANSITIVE forms or UNDEFINED", err))
		return
	}
	if err := b.setSchemaStrategy(r.PathValue("tenant")+"/"+r.PathValue("namespace"), s); err != nil {
		writeError(w, http.StatusInternalServerError, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// schemaTypeByName is Pulsar's SchemaType by name, as the admin API writes
// it, for the types of the wire protocol.
var schemaTypeByName = map[string]wire.Schema_Type{
	"NONE": wire.Schema_None, "BYTES": wire.Schema_None, "STRING": wire.Schema_String, "JSON": wire.Schema_Json,
	"PROTOBUF": wire.Schema_Protobuf, "AVRO": wire.Schema_Avro, "BOOLEAN": wire.Schema_Bool,
	"INT8": wire.Schema_Int8, "INT16": wire.Schema_Int16, "INT32": wire.Schema_Int32, "INT64": wire.Schema_Int64,
	"FLOAT": wire.Schema_Float, "DOUBLE": wire.Schema_Double, "DATE": wire.Schema_Date, "TIME": wire.Schema_Time,
	"TIMESTAMP": wire.Schema_Timestamp, "KEY_VALUE": wire.Schema_KeyValue, "INSTANT": wire.Schema_Instant,
	"LOCAL_DATE": wire.Schema_LocalDate, "LOCAL_TIME": wire.Schema_LocalTime,
	"LOCAL_DATE_TIME": wire.Schema_LocalDateTime, "PROTOBUF_NATIVE": wire.Schema_ProtobufNative,
}

func schemaTypeName(t int32) string {
	for name, v := range schemaTypeByName {
		if int32(v) == t && name != "BYTES" {
			return name
		}
	}
	return strconv.Itoa(int(t))
}
