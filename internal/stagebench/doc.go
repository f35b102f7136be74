// Command stagebench prints what each stage of the compile of a generated
// mesh costs in CPU time (parse, check, plan, encode, and emit for each
// backend), beside its goal and the ratio of the two, as one table. CPU
// time, not wall time, holds on a busy machine; each figure is the least of
// a few runs. make bench runs it.
package main
