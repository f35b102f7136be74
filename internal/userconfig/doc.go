// Package userconfig holds the entry of a component's user configuration
// that the compiler's model and the plan share, so that the planner hands
// the compiler's sorted entries on to the plan without copying them.
package userconfig
