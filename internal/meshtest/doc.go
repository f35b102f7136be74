// Package meshtest runs the test cases of .meshtest files against the
// meshes beside them: each case on an embedded broker of its own, with the
// mesh's real function instances, its messages sent where sources would
// write, and its expectations checked on the topics, dead-letter topics
// and state the functions leave behind. Sources and sinks do not run, so
// a case sees nothing it did not send. SPEC.md ("Testing a mesh") is the
// reference of the format.
//
// Load reads a test file and checks every case against the mesh before
// anything runs; Run runs the cases; the reporters write what happened as
// go test does, as JSON events, or as JUnit XML.
package meshtest
