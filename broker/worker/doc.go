// Package worker makes the embedded broker a one-machine Pulsar Functions
// worker: it serves the part of the worker's REST API (/admin/v3/functions)
// that pulsaradmin and pulsar-admin use, with Pulsar's paths, JSON and
// status codes, and runs each function's instances as local processes the
// way Pulsar's process runtime runs a Go function: the function's package
// is an executable, started as `PACKAGE -instance-conf JSON` with Pulsar's
// Go instance configuration (runtime.InstanceConf), one process per
// instance, restarted with a backoff when it exits.
//
// Functions and their packages are kept under the worker's directory, so a
// restarted worker brings them back. Status and stats come from each
// instance's own /metrics and /readyz on its metrics port; trigger
// publishes to the function's input topic and returns the output caused by
// it; state is read and written through the function's state topic, as
// meshrt keeps it (runtime.QueryState, runtime.PutState).
package worker
