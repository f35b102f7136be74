package broker

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/apache/pulsar-client-go/pulsaradmin/pkg/utils"
	"github.com/meshc/meshc/broker/internal/storage"
	"github.com/meshc/meshc/broker/internal/wire"
)

// schemaVersion is one stored version of a topic's schema. A deletion is
// a version too, as in Pulsar: versions keep counting after it, and only
// those after the last deletion are the topic's schema.
type schemaVersion struct {
	Name       string            `json:"name"`
	Type       int32             `json:"type"`
	Data       []byte            `json:"data"`
	Properties map[string]string `json:"properties,omitempty"`
	Timestamp  int64             `json:"timestamp,omitempty"` // unix milliseconds
	Deleted    bool              `json:"deleted,omitempty"`
}

var (
	errIncompatibleSchema = errors.New("incompatible schema")
	errNoSchema           = errors.New("schema not found")
)

func versionBytes(v int) []byte { return binary.BigEndian.AppendUint64(nil, uint64(v)) }

// isBytesSchema reports a missing or NONE schema, which Pulsar accepts on
// any topic (schema validation is not enforced by default).
func isBytesSchema(s *wire.Schema) bool {
	return s == nil || s.GetType() == wire.Schema_None
}

func fromWire(s *wire.Schema) schemaVersion {
	v := schemaVersion{Name: s.GetName(), Type: int32(s.GetType()), Data: s.GetSchemaData()}
	for _, p := range s.GetProperties() {
		if v.Properties == nil {
			v.Properties = map[string]string{}
		}
		v.Properties[p.GetKey()] = p.GetValue()
	}
	return v
}

// live returns the versions after the last deletion, and the index of the
// first of them.
func (t *topic) live() ([]schemaVersion, int) {
	for i := len(t.schemas) - 1; i >= 0; i-- {
		if t.schemas[i].Deleted {
			return t.schemas[i+1:], i + 1
		}
	}
	return t.schemas, 0
}

// find returns the index of a live version equal to v, or -1.
func (t *topic) find(v schemaVersion) int {
	live, base := t.live()
	for i, old := range live {
		if old.Type == v.Type && bytes.Equal(old.Data, v.Data) {
			return base + i
		}
	}
	return -1
}

// useSchema returns the version of a producer's schema s, adding it as a
// new version when the namespace's compatibility strategy allows, and
// refusing it with errIncompatibleSchema when not.
func (t *topic) useSchema(s *wire.Schema) ([]byte, error) {
	if isBytesSchema(s) {
		return nil, nil
	}
	i, err := t.addSchema(fromWire(s))
	if err != nil {
		return nil, err
	}
	return versionBytes(i), nil
}

// addSchema stores v unless an equal version is live, and returns its
// index.
func (t *topic) addSchema(v schemaVersion) (int, error) {
	strategy := t.b.schemaStrategy(t.namespace())
	t.mu.Lock()
	defer t.mu.Unlock()
	if i := t.find(v); i >= 0 {
		return i, nil
	}
	live, _ := t.live()
	if err := checkCompatible(live, v, strategy); err != nil {
		return 0, t.incompatible(err, strategy)
	}
	v.Timestamp = time.Now().UnixMilli()
	if err := t.storeSchema(v); err != nil {
		return 0, err
	}
	return len(t.schemas) - 1, nil
}

// storeSchema appends v, on disk too with a data directory; t.mu is held.
func (t *topic) storeSchema(v schemaVersion) error {
	t.schemas = append(t.schemas, v)
	if t.dir != "" {
		if err := storage.WriteJSON(filepath.Join(t.dir, "schemas.json"), t.schemas); err != nil {
			t.schemas = t.schemas[:len(t.schemas)-1]
			return err
		}
	}
	return nil
}

func (t *topic) incompatible(err error, strategy utils.SchemaCompatibilityStrategy) error {
	return fmt.Errorf("%w with topic %s under strategy %s: %w; use a compatible schema, or change the namespace's schemaCompatibilityStrategy",
		errIncompatibleSchema, t.name, strategy, err)
}

// consumerSchema checks a consumer's schema as Pulsar does: against the
// topic's schema when it has one (the latest version, read backward, for
// the strategies that are not transitive but FORWARD_TRANSITIVE; every
// version under the strategy otherwise). A topic without a schema takes
// the consumer's when nothing has been written to it and no producer is
// connected; else there is nothing to check it against, and it is refused.
func (t *topic) consumerSchema(s *wire.Schema) error {
	if isBytesSchema(s) {
		return nil
	}
	strategy := t.b.schemaStrategy(t.namespace())
	v := fromWire(s)
	t.mu.Lock()
	defer t.mu.Unlock()
	live, _ := t.live()
	switch {
	case strategy == utils.SchemaCompatibilityStrategyAlwaysCompatible || t.find(v) >= 0:
		return nil
	case len(live) == 0 && t.next == 0 && len(t.producers) == 0:
		v.Timestamp = time.Now().UnixMilli()
		return t.storeSchema(v)
	case len(live) == 0:
		return fmt.Errorf("%w: topic %s has messages or producers but no schema to check the consumer's against; consume without a schema, or register one", errIncompatibleSchema, t.name)
	}
	switch strategy {
	case utils.SchemaCompatibilityStrategyBackward, utils.SchemaCompatibilityStrategyForward,
		utils.SchemaCompatibilityStrategyForwardTransitive, utils.SchemaCompatibilityStrategyFull:
		if err := readable(live[len(live)-1], v, directionBackward); err != nil {
			return t.incompatible(err, strategy)
		}
		return nil
	}
	if err := checkCompatible(live, v, strategy); err != nil {
		return t.incompatible(err, strategy)
	}
	return nil
}

// schema returns a stored version (the latest when version is empty).
func (t *topic) schema(version []byte) (*wire.Schema, []byte, bool) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	i := len(t.schemas) - 1
	if len(version) == 8 {
		i = int(binary.BigEndian.Uint64(version))
	}
	if i < 0 || i >= len(t.schemas) || t.schemas[i].Deleted {
		return nil, nil, false
	}
	v := t.schemas[i]
	s := &wire.Schema{Name: &v.Name, Type: wire.Schema_Type(v.Type).Enum(), SchemaData: v.Data}
	if s.SchemaData == nil {
		s.SchemaData = []byte{}
	}
	for k, val := range v.Properties {
		s.Properties = append(s.Properties, &wire.KeyValue{Key: &k, Value: &val})
	}
	return s, versionBytes(i), true
}

// deleteSchema marks the topic's schema deleted, as a version of its own,
// and returns that version.
func (t *topic) deleteSchema() (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if live, _ := t.live(); len(live) == 0 {
		return 0, fmt.Errorf("%w: topic %s has no schema", errNoSchema, t.name)
	}
	if err := t.storeSchema(schemaVersion{Deleted: true, Timestamp: time.Now().UnixMilli()}); err != nil {
		return 0, err
	}
	return len(t.schemas) - 1, nil
}

// namespace is the topic's tenant/namespace.
func (t *topic) namespace() string {
	n, err := parseTopic(t.name)
	if err != nil {
		return ""
	}
	return n.tenant + "/" + n.namespace
}
