// Package planner turns a checked mesh into a deterministic Plan: one entry
// per function, source and sink, with everything an instance needs to run.
package planner
