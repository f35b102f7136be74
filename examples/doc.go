// Package examples holds the example meshes and their end-to-end tests:
// each runs with meshc run on the embedded broker and is compared with its
// expected output in testdata. The shop package beside them holds the Go
// functions that some examples use, and shop/cmd/shoprt their instance
// binary.
package examples
