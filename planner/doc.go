// Package planner turns a checked mesh into a deterministic Plan (package
// plan): one entry per function, source and sink, with everything an
// instance needs to run, and compares plans for review.
package planner
