// Package local runs a mesh's plan on this machine: one supervised process
// per instance, each running the shared instance runtime with its instance
// plan, restarted with backoff when it crashes. A small HTTP control API on
// 127.0.0.1 lets other commands list, inspect, stop, start, restart and
// trigger the functions of a running mesh.
package local
