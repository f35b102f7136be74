// Package meshgen writes large, valid meshes of a chosen shape for the
// benchmarks of the parser, the compiler and the planner.
package meshgen
