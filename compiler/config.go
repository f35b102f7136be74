package compiler

import (
	"slices"
	"strings"
)

// Config is a component's user configuration as entries sorted by key,
// each key once. A list rather than a map: a mesh of thousands of
// components with a small config each spent a fifth of its check building
// maps, and the planner passes the order on so that no plan encoding
// sorts the keys again.
type Config []ConfigEntry

// ConfigEntry is one key of a Config; Value is as Options.Config says.
type ConfigEntry struct {
	Key   string
	Value any
}

// Get returns the value of key.
func (c Config) Get(key string) (any, bool) {
	i, ok := slices.BinarySearchFunc(c, key, compareKey)
	if !ok {
		return nil, false
	}
	return c[i].Value, true
}

func compareKey(e ConfigEntry, key string) int { return strings.Compare(e.Key, key) }

// sortConfig puts c's entries in order of their keys.
func sortConfig(c Config) {
	slices.SortFunc(c, func(a, b ConfigEntry) int { return strings.Compare(a.Key, b.Key) })
}

// newConfig is an empty Config with room for n entries, cut from the
// compiler's array; appending past n copies it out. The arrays grow from
// small, so that a small mesh holds little spare.
func (c *compiler) newConfig(n int) Config {
	if n == 0 {
		return Config{} // empty, not missing
	}
	if n > cap(c.configs)-len(c.configs) {
		c.configs = make(Config, 0, max(n, min(2*cap(c.configs), 256), 8))
	}
	start := len(c.configs)
	c.configs = c.configs[:start+n]
	return c.configs[start : start : start+n]
}
