// Package child is the function's side of the external-process protocol, for
// functions written in Go: built as an ordinary executable for exec(...), or
// with GOOS=wasip1 GOARCH=wasm as a module for wasm(...). Run reads calls
// from standard input and writes results to standard output until the
// runtime closes standard input.
package child
