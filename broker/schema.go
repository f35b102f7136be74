package broker

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"

	"github.com/meshc/meshc/broker/internal/storage"
	"github.com/meshc/meshc/broker/internal/wire"
)

// schemaVersion is one stored version of a topic's schema.
type schemaVersion struct {
	Name       string            `json:"name"`
	Type       int32             `json:"type"`
	Data       []byte            `json:"data"`
	Properties map[string]string `json:"properties,omitempty"`
}

var errIncompatibleSchema = errors.New("incompatible schema")

func versionBytes(v int) []byte { return binary.BigEndian.AppendUint64(nil, uint64(v)) }

// isBytesSchema reports a missing or NONE schema, which Pulsar accepts on
// any topic (schema validation is not enforced by default).
func isBytesSchema(s *wire.Schema) bool {
	return s == nil || s.GetType() == wire.Schema_None
}

// useSchema returns the version of s on the topic, adding it as a new
// version when it is compatible with the latest one and refusing it when
// not. Compatibility follows Pulsar's default (backward) strategy: a new
// version must read data written with the previous one.
func (t *topic) useSchema(s *wire.Schema) ([]byte, error) {
	if isBytesSchema(s) {
		return nil, nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	for i, v := range t.schemas {
		if v.Type == int32(s.GetType()) && bytes.Equal(v.Data, s.GetSchemaData()) {
			return versionBytes(i), nil
		}
	}
	if n := len(t.schemas); n > 0 {
		if err := compatible(t.schemas[n-1], s); err != nil {
			return nil, fmt.Errorf("%w with topic %s: %w; use a schema compatible with version %d or a new topic",
				errIncompatibleSchema, t.name, err, n-1)
		}
	}
	v := schemaVersion{Name: s.GetName(), Type: int32(s.GetType()), Data: s.GetSchemaData()}
	for _, p := range s.GetProperties() {
		if v.Properties == nil {
			v.Properties = map[string]string{}
		}
		v.Properties[p.GetKey()] = p.GetValue()
	}
	t.schemas = append(t.schemas, v)
	if t.dir != "" {
		if err := storage.WriteJSON(filepath.Join(t.dir, "schemas.json"), t.schemas); err != nil {
			t.schemas = t.schemas[:len(t.schemas)-1]
			return nil, err
		}
	}
	return versionBytes(len(t.schemas) - 1), nil
}

// schema returns a stored version (the latest when version is empty).
func (t *topic) schema(version []byte) (*wire.Schema, []byte, bool) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	i := len(t.schemas) - 1
	if len(version) == 8 {
		i = int(binary.BigEndian.Uint64(version))
	}
	if i < 0 || i >= len(t.schemas) {
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

// compatible checks that next can read data written with prev.
func compatible(prev schemaVersion, next *wire.Schema) error {
	if prev.Type != int32(next.GetType()) {
		return fmt.Errorf("type %v differs from the stored %v", next.GetType(), wire.Schema_Type(prev.Type))
	}
	switch next.GetType() {
	case wire.Schema_Avro, wire.Schema_Json:
		return recordCompatible(prev.Data, next.GetSchemaData())
	case wire.Schema_Protobuf, wire.Schema_ProtobufNative, wire.Schema_KeyValue:
		return errors.New("definition differs from the stored one")
	}
	return nil
}

type recordSchema struct {
	Type   any `json:"type"`
	Fields []struct {
		Name    string          `json:"name"`
		Type    json.RawMessage `json:"type"`
		Default json.RawMessage `json:"default"`
	} `json:"fields"`
}

// recordCompatible applies Avro's backward rule to record definitions: a
// field added in the new version needs a default, and a kept field keeps
// its type.
func recordCompatible(prevData, nextData []byte) error {
	var prev, next recordSchema
	if err := json.Unmarshal(prevData, &prev); err != nil {
		return fmt.Errorf("stored definition is not a record: %w", err)
	}
	if err := json.Unmarshal(nextData, &next); err != nil {
		return fmt.Errorf("definition is not a record: %w", err)
	}
	old := map[string]json.RawMessage{}
	for _, f := range prev.Fields {
		old[f.Name] = f.Type
	}
	for _, f := range next.Fields {
		t, ok := old[f.Name]
		switch {
		case !ok && f.Default == nil:
			return fmt.Errorf("new field %q has no default", f.Name)
		case ok && !jsonEqual(t, f.Type):
			return fmt.Errorf("field %q changes type from %s to %s", f.Name, t, f.Type)
		}
	}
	return nil
}

func jsonEqual(a, b json.RawMessage) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return bytes.Equal(a, b)
	}
	xb, _ := json.Marshal(x)
	yb, _ := json.Marshal(y)
	return bytes.Equal(xb, yb)
}
