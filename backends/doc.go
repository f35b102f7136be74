// Package backends holds one subpackage per deployment target: local
// processes, Nomad jobs, Kubernetes manifests and a Pulsar Functions
// worker (pulsarworker).
package backends
