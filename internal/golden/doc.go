// Package golden compares what tests produce with golden files under
// testdata/, plain or txtar archives of named sections, and rewrites them
// when the tests run with -update.
package golden
