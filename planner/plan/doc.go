// Package plan defines the Plan: the versioned, documented format that the
// planner writes and that backends and every runtime instance read. It
// imports nothing of the compiler, so the runtime depends on it alone.
package plan
