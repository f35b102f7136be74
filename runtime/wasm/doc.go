// Package wasm runs a WebAssembly function (WASI preview 1) inside the
// instance with wazero, pure Go: the module is compiled once per instance,
// and one instance of it serves call after call, speaking the frames of
// package frame on its standard input and output, just as an external
// process does. It is sandboxed: no file system but the plan's read-only
// folders, no network, a memory limit, and a time limit per call past which
// the module instance is closed and a fresh one started.
package wasm
