package plan

import (
	"bytes"
	"encoding/json"
	"maps"
	"reflect"
	"slices"
	"strconv"

	"github.com/meshc/meshc/internal/jsontext"
	"github.com/meshc/meshc/internal/userconfig"
)

// Config is a component's user configuration as entries sorted by key,
// each key once. A list rather than a map: a mesh of many small configs
// would otherwise hold a map each, and every encoding of the plan would
// sort their keys again. Its JSON is an object, as encoding/json writes a
// map.
type Config []ConfigEntry

// ConfigEntry is one key of a Config. Value holds string, int64, float64,
// bool, []any, map[string]any, or json.Number in a plan read back. The
// compiler's entries are the same type, handed on without a copy.
type ConfigEntry = userconfig.Entry

// ConfigOf is m's entries in order of their keys; nil for nil.
func ConfigOf(m map[string]any) Config {
	if m == nil {
		return nil
	}
	c := make(Config, 0, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		c = append(c, ConfigEntry{Key: k, Value: m[k]})
	}
	return c
}

// Get returns the value of key.
func (c Config) Get(key string) (any, bool) { return userconfig.Get(c, key) }

// Map is c as a map, for users who read their config as one; nil for
// nil.
func (c Config) Map() map[string]any { return userconfig.Map(c) }

// MarshalJSON writes c as encoding/json writes a map: an object in the
// order of its keys, so nil is an empty object, not null; whoever calls
// it escapes < > & as it was asked to.
func (c Config) MarshalJSON() ([]byte, error) {
	w := jsontext.Writer{Compact: true}
	w.Open('{')
	for _, e := range c {
		w.Key(e.Key)
		if err := w.Any(e.Value); err != nil {
			return nil, err
		}
	}
	w.Close('}')
	return w.B, nil
}

// UnmarshalJSON reads an object as encoding/json reads a map, the last of
// a repeated key holding and null giving nil. Numbers are read as
// json.Number, every digit kept: the decoder calling it cannot say whether
// it was asked to, and DecodeInstance makes them float64 again.
func (c *Config) UnmarshalJSON(data []byte) error {
	var m map[string]any
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		return err
	}
	*c = ConfigOf(m)
	return nil
}

// floats makes the json.Numbers in c float64, as encoding/json reads
// numbers into an any without UseNumber.
func (c Config) floats() error {
	for i := range c {
		v, err := floats(c[i].Value)
		if err != nil {
			return err
		}
		c[i].Value = v
	}
	return nil
}

func floats(v any) (any, error) {
	switch v := v.(type) {
	case json.Number:
		f, err := strconv.ParseFloat(string(v), 64)
		if err != nil {
			return nil, &json.UnmarshalTypeError{Value: "number " + string(v), Type: reflect.TypeFor[float64]()}
		}
		return f, nil
	case []any:
		for i := range v {
			x, err := floats(v[i])
			if err != nil {
				return nil, err
			}
			v[i] = x
		}
	case map[string]any:
		for k, x := range v {
			x, err := floats(x)
			if err != nil {
				return nil, err
			}
			v[k] = x
		}
	}
	return v, nil
}
