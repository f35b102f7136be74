// Package backends holds one subpackage per deployment target: local
// processes, Nomad jobs and Kubernetes manifests. A Pulsar Functions worker
// backend is planned and not yet here.
package backends
