package wire

// Regenerate meshwire.pb.go after editing meshwire.proto (needs protoc and
// protoc-gen-go v1.36.12 on PATH); the generated file is committed.
//go:generate protoc --go_out=. --go_opt=paths=source_relative meshwire.proto
