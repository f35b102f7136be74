// Package external runs a function outside the instance's Go code: a child
// process started once per instance, or (through package wasm) a WebAssembly
// module, exchanging the frames of package frame over its standard input and
// output. It pipelines a bounded number of calls, detects a child that exits
// or hangs, restarts it with backoff, and sends the calls it held again, so
// that no message is lost; its standard error goes to the instance log.
package external
