package userconfig

import (
	"slices"
	"strings"
)

// Entry is one key of a configuration and its value.
type Entry struct {
	Key   string
	Value any
}

// Get returns the value of key in entries sorted by key.
func Get(entries []Entry, key string) (any, bool) {
	i, ok := slices.BinarySearchFunc(entries, key, func(e Entry, k string) int { return strings.Compare(e.Key, k) })
	if !ok {
		return nil, false
	}
	return entries[i].Value, true
}

// Sort puts entries in order of their keys.
func Sort(entries []Entry) {
	slices.SortFunc(entries, func(a, b Entry) int { return strings.Compare(a.Key, b.Key) })
}

// Map is entries as a map, for readers of a config as one; nil for nil.
func Map(entries []Entry) map[string]any {
	if entries == nil {
		return nil
	}
	m := make(map[string]any, len(entries))
	for _, e := range entries {
		m[e.Key] = e.Value
	}
	return m
}
