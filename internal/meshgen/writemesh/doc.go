// Command writemesh writes a generated mesh as a folder of .mesh files, so
// that every meshc command can be run on a mesh of any size:
//
//	go run ./internal/meshgen/writemesh -functions 100000 -o /tmp/big
//	meshc check /tmp/big
//
// The files are named part000.mesh, part001.mesh, ... in the order
// meshgen.Files gives them; the folder is created if need be, and files of
// those names in it are replaced.
package main
