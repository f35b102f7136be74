// Package wire is the Pulsar binary protocol as the meshc broker speaks it:
// the protobuf commands of meshwire.proto, frame parsing with size limits,
// hand-written encoders for the per-message hot path, and CRC32C checksums.
package wire
