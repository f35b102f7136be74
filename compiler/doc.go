// Package compiler resolves a parsed mesh into a typed model and a checked
// graph of topics and components, reporting every semantic error in one run.
//
// Compile takes the files of one mesh and parameter values as text and
// returns a *Mesh and lang.Diagnostics, sorted by position. Each diagnostic
// covers the exact span of the name or value at fault, with a hint (a
// "did you mean" for names close to a known one) and related places: the
// first declaration of a duplicate, each hop of a cycle. SPEC.md lists every
// check under "Checks".
//
// The model is what a planner needs without the syntax tree: topics with
// full Pulsar names and resolved schemas; functions, sources and sinks with
// their implementation, topics, the schemas they read and write, and
// options with mesh.defaults and the built-in defaults applied; parameters
// with their bound values; components in dependency order. Every element
// keeps the span of its declaration.
//
// Checks run on adjacency lists over vertex indices in declaration order:
// Tarjan's algorithm for cycles, breadth-first search for the hops of a
// cycle, Kahn's algorithm with a heap for the order. That keeps the output
// deterministic and a mesh of 10,000 functions compiling in about 0.1 s;
// github.com/dominikbraun/graph's own cycle checks and sorts take seconds at
// that size and iterate in map order. Mesh.Graph gives the same graph as a
// graph.Graph, built on first use.
package compiler
