package compiler

import "github.com/meshc/meshc/internal/userconfig"

// Config is a component's user configuration as entries sorted by key,
// each key once. A list rather than a map: a mesh of thousands of
// components with a small config each spent a fifth of its check building
// maps, and the planner passes the list on as it is, so that no plan
// encoding sorts the keys again.
type Config []ConfigEntry

// ConfigEntry is one key of a Config; Value is as Options.Config says.
type ConfigEntry = userconfig.Entry

// Get returns the value of key.
func (c Config) Get(key string) (any, bool) { return userconfig.Get(c, key) }
