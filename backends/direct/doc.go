// Package direct drives a deployed mesh through Pulsar alone, given its
// plan: it sends a value to a function and reads what the function writes
// for it, and reads and writes a function's state. Instances talk only to
// Pulsar, so these work for a mesh on any backend, with the cluster's
// Pulsar URL; the local backend serves them through its control API.
package direct
