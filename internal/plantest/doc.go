// Package plantest gives tests and benchmarks the plans of generated
// meshes (internal/meshgen), parsed, checked and planned as meshc plans a
// mesh.
package plantest
