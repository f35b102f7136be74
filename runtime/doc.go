// Package runtime is the shared instance runtime: every function, source and
// sink instance runs it on pulsar-client-go, configured by its instance plan.
package runtime
