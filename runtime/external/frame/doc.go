// Package frame is the wire format between the instance runtime and a
// function that runs outside it (a child process, or a WebAssembly module):
// length-prefixed frames of tagged fields, described in SPEC.md under
// "External processes". Both sides use it; it imports nothing but the
// standard library, so it builds for GOOS=wasip1 too.
package frame
