// Package registrycheck compares the schemas of a mesh's topics with those
// a live Pulsar cluster has registered for them, through Pulsar's admin
// API, and reports at each topic's position a schema the cluster would
// refuse or one that differs from what the topic holds: before anything
// deploys, rather than as a stalled backlog after.
package registrycheck
