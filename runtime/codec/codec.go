package codec

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"unicode/utf8"
	"unsafe"

	"github.com/meshc/meshc/planner/plan"
)

// ErrPayload marks a payload that does not fit its schema: such a message
// is not retried but sent to the dead-letter topic at once.
var ErrPayload = errors.New("payload does not fit the schema")

// MaxJSONDepth bounds the nesting of JSON payloads, which come from outside.
const MaxJSONDepth = 64

// Codec encodes and decodes the payloads of one schema, in the encodings
// Pulsar's own schemas use: UTF-8 strings, 8-byte big-endian int64 and
// float64, one byte for bool, JSON for json.
type Codec struct {
	schema plan.Schema
	record *avroType // for json with a definition
	binary binaryRecord
}

// binaryRecord is the codec of avro and protobuf records.
type binaryRecord interface {
	decode(payload []byte) (any, error)
	encode(v any) ([]byte, error)
}

// New returns the codec of schema s.
func New(s plan.Schema) (*Codec, error) {
	c := &Codec{schema: s}
	switch s.Type {
	case "bytes", "string", "int64", "float64", "bool":
	case "avro":
		if s.Definition == "" {
			return nil, fmt.Errorf("avro schema %s has no definition: plan the mesh again with this meshc", s.File)
		}
		b, err := newAvroBinary(s.Definition)
		if err != nil {
			return nil, err
		}
		c.binary = b
	case "protobuf":
		if len(s.Descriptor) == 0 {
			return nil, fmt.Errorf("protobuf schema %s has no descriptor: plan the mesh again with this meshc", s.File)
		}
		p, err := newProtoMessage(s.Descriptor, s.Message)
		if err != nil {
			return nil, err
		}
		c.binary = p
	case "json":
		if s.Definition != "" {
			t, err := parseAvro(s.Definition)
			if err != nil {
				return nil, fmt.Errorf("json schema: %w", err)
			}
			c.record = t
		}
	default:
		return nil, fmt.Errorf("unknown schema type %q: the plan may come from a newer meshc", s.Type)
	}
	return c, nil
}

// Schema returns the schema the codec was made for.
func (c *Codec) Schema() plan.Schema { return c.schema }

// Decode turns a payload into a Go value: []byte, string, int64, float64,
// bool, or for json the value decoded with numbers as json.Number, and for
// avro and protobuf a record in the same shape (map[string]any of the
// same values). An error wraps ErrPayload and says what is wrong.
func (c *Codec) Decode(payload []byte) (any, error) {
	switch c.schema.Type {
	case "string":
		if !utf8.Valid(payload) {
			return nil, payloadErrorf("string payload is not valid UTF-8")
		}
		return string(payload), nil
	case "int64":
		if len(payload) != 8 {
			return nil, payloadErrorf("int64 payload has %d bytes, want 8", len(payload))
		}
		return int64(binary.BigEndian.Uint64(payload)), nil
	case "float64":
		if len(payload) != 8 {
			return nil, payloadErrorf("float64 payload has %d bytes, want 8", len(payload))
		}
		return math.Float64frombits(binary.BigEndian.Uint64(payload)), nil
	case "bool":
		if len(payload) != 1 || payload[0] > 1 {
			return nil, payloadErrorf("bool payload must be one byte, 0 or 1")
		}
		return payload[0] == 1, nil
	case "json":
		return c.decodeJSON(payload)
	case "avro", "protobuf":
		return c.binary.decode(payload)
	}
	return bytes.Clone(payload), nil
}

// DecodeShared is Decode for a caller whose payload no one changes and
// which does not keep the value past the payload's use: a string is the
// payload's own bytes rather than a copy.
func (c *Codec) DecodeShared(payload []byte) (any, error) {
	if c.schema.Type != "string" {
		return c.Decode(payload)
	}
	if !utf8.Valid(payload) {
		return nil, payloadErrorf("string payload is not valid UTF-8")
	}
	return unsafe.String(unsafe.SliceData(payload), len(payload)), nil
}

func (c *Codec) decodeJSON(payload []byte) (any, error) {
	if err := checkDepth(payload); err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, payloadErrorf("invalid JSON: %v", err)
	}
	if dec.More() {
		return nil, payloadErrorf("invalid JSON: data after the value")
	}
	if c.record != nil {
		if err := c.record.check(v, ""); err != nil {
			return nil, payloadErrorf("%v", err)
		}
	}
	return v, nil
}

// checkDepth refuses JSON nested deeper than MaxJSONDepth before decoding.
func checkDepth(payload []byte) error {
	depth, inString, escaped := 0, false, false
	for _, b := range payload {
		switch {
		case escaped:
			escaped = false
		case inString && b == '\\':
			escaped = true
		case b == '"':
			inString = !inString
		case inString:
		case b == '[' || b == '{':
			if depth++; depth > MaxJSONDepth {
				return payloadErrorf("JSON nests deeper than %d levels", MaxJSONDepth)
			}
		case b == ']' || b == '}':
			depth--
		}
	}
	return nil
}

// Encode turns a Go value into a payload. Strings and []byte are taken as
// they are for every schema; other values must fit the schema.
func (c *Codec) Encode(v any) ([]byte, error) {
	switch c.schema.Type {
	case "string":
		switch s := v.(type) {
		case string:
			return []byte(s), nil
		case []byte:
			return s, nil
		}
	case "int64":
		if n, ok := AsInt64(v); ok {
			return binary.BigEndian.AppendUint64(nil, uint64(n)), nil
		}
	case "float64":
		if f, ok := AsFloat64(v); ok {
			return binary.BigEndian.AppendUint64(nil, math.Float64bits(f)), nil
		}
	case "bool":
		if b, ok := v.(bool); ok {
			if b {
				return []byte{1}, nil
			}
			return []byte{0}, nil
		}
	case "json":
		return c.encodeJSON(v)
	case "avro", "protobuf":
		return c.encodeBinary(v)
	default:
		if b, ok := v.([]byte); ok {
			return b, nil
		}
	}
	return nil, fmt.Errorf("cannot encode %T as %s", v, c.schema.Type)
}

func (c *Codec) encodeJSON(v any) ([]byte, error) {
	b, ok := v.([]byte)
	if !ok {
		var err error
		if b, err = json.Marshal(v); err != nil {
			return nil, fmt.Errorf("encoding JSON: %w", err)
		}
	}
	if c.record != nil {
		if _, err := c.decodeJSON(b); err != nil {
			return nil, fmt.Errorf("output does not fit its schema: %w", err)
		}
	}
	return b, nil
}

// encodeBinary writes an avro or protobuf record. A payload ([]byte) is
// taken as it is once it decodes; a value of the caller's own type
// (a struct) is read through its JSON encoding first.
func (c *Codec) encodeBinary(v any) ([]byte, error) {
	if b, ok := v.([]byte); ok {
		if _, err := c.binary.decode(b); err != nil {
			return nil, fmt.Errorf("output does not fit its schema: %w", err)
		}
		return b, nil
	}
	v, err := plain(v)
	if err != nil {
		return nil, err
	}
	b, err := c.binary.encode(v)
	if err != nil {
		return nil, fmt.Errorf("output does not fit its %s schema: %w", c.schema.Type, err)
	}
	return b, nil
}

// plain turns a value of the caller's own type into the values decoding
// gives, through its JSON encoding.
func plain(v any) (any, error) {
	switch v.(type) {
	case nil, bool, string, json.Number, map[string]any, []any, int, int32, int64, float32, float64:
		return v, nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encoding %T: %w", v, err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var out any
	if err := dec.Decode(&out); err != nil {
		return nil, fmt.Errorf("encoding %T: %w", v, err)
	}
	return out, nil
}

// AsInt64 reads an integer from the values decoding and configuration
// produce: Go integers, integral float64s and json.Number.
func AsInt64(v any) (int64, bool) {
	switch n := v.(type) {
	case int64:
		return n, true
	case int:
		return int64(n), true
	case int32:
		return int64(n), true
	case float64:
		return int64(n), n == math.Trunc(n) && math.Abs(n) < 1<<63
	case json.Number:
		i, err := n.Int64()
		return i, err == nil
	}
	return 0, false
}

// AsFloat64 reads a number as AsInt64 does, fractions allowed.
func AsFloat64(v any) (float64, bool) {
	switch n := v.(type) {
	case float64:
		return n, true
	case float32:
		return float64(n), true
	case int64:
		return float64(n), true
	case int:
		return float64(n), true
	case json.Number:
		f, err := n.Float64()
		return f, err == nil
	}
	return 0, false
}

func payloadErrorf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrPayload, fmt.Sprintf(format, args...))
}
