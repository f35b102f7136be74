// Package compiler resolves a parsed mesh into a typed model and a checked
// DAG of topics and components, reporting every semantic error in one run.
package compiler
