// Package lang reads .mesh files: it lexes and parses source text into an AST
// whose every node carries its start and end position, and it reports syntax
// errors as positioned diagnostics that render with a source snippet.
package lang
