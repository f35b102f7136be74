// Package backends holds one subpackage per deployment target: local
// processes, Nomad jobs, Kubernetes manifests and the Pulsar Functions worker.
package backends
