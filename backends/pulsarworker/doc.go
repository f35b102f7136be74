// Package pulsarworker deploys a mesh to a Pulsar Functions worker, the
// scheme of PIP-66: every function, source and sink becomes a Pulsar
// Function of the Go runtime, running the instance binary uploaded as its
// package, with a FunctionConfig made from its plan. It talks to the
// worker through pulsaradmin only, as pulsar-admin functions does, and
// manages the functions of one mesh as one: a diff first, updates of the
// components whose plan changed, removal of those the mesh no longer
// holds, and a wait for every instance to run.
package pulsarworker
