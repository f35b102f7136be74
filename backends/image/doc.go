// Package image builds the OCI image a mesh's instances run from, as ko
// builds Go images: no Dockerfile and no Docker daemon. An image holds the
// instance binary (meshrt cross-compiled from meshc's source, a user's own
// built from their main package, or one given ready-made), the files the
// mesh's exec(...) and wasm(...) functions name, at the instance's working
// folder, the Python helper when a function is a Python program, and this
// machine's CA certificates; it runs as uid 65532. One image is built per
// platform, with an index over them when there are several, on an empty
// base or on one pulled from a registry.
//
// Builds are reproducible: the same inputs give the same digest, because
// every timestamp is fixed (epoch 0, or SOURCE_DATE_EPOCH as the caller
// passes it), tar entries are sorted with fixed modes and owners, and the
// binaries are built with -trimpath, no build id and no VCS stamp.
//
// The image goes to a registry (Push), to an OCI image layout folder
// (WriteLayout), or to a tar of that layout that docker load (25+) also reads
// for one platform (WriteTar).
package image
