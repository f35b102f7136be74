// Package lang reads .mesh files, and the .meshtest files of their test cases
// (ParseTests): it lexes and parses source text into an AST
// whose every node carries its start and end position, and it reports syntax
// errors as positioned diagnostics that render with a source snippet.
//
// The scanner makes tokens and keeps comments apart. The parser splits the
// tokens into declarations at their keywords, so that each broken declaration
// gets its own error and the rest still parse. Declarations are parsed by
// participle from the struct tags in ast.go; bodies, values and types, which
// make up most of a file, by hand-written productions plugged in through
// participle's Parseable hook (exprs.go), which keeps the parser fast and its
// errors exact.
package lang
