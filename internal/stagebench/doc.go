// Command stagebench prints what each stage of the compile of a generated
// mesh costs in CPU time (parse, check, plan, encode, and emit for each
// backend), beside its goal and the ratio of the two, as one table. CPU
// time, not wall time, holds on a busy machine; each figure is the least of
// a few runs. make bench runs it.
//
// Memory is measured as meshc spends it: each stage lets go of what later
// stages do not need (the sources after parsing, the syntax trees after
// checking, the compiled mesh after planning), the live heap after each
// stage is printed, and the figure per function is the peak resident
// memory of the process less its resident memory before the mesh was
// generated, divided by the functions. -memprofile writes a heap profile
// after each stage; -write writes the generated mesh as a folder for
// meshc itself.
package main
