// Package format prints a parsed .mesh file in its one canonical layout,
// as go/format does for Go. The layout is decided by the printer, never by
// the source, except for blank lines and comments:
//
//   - Two-space indentation, one attribute or record field per line, and
//     key = value with no alignment, so that diffs stay small. Object values
//     print as key { ... }; an empty body prints {}.
//   - Declarations without a body fit on one line. Signatures read
//     function f(a, b) -> c {, source s -> t {, sink k(a) {.
//   - A list prints on one line when it fits in 100 columns and holds no
//     object and no comment; otherwise one item per line, each followed by a
//     comma. An object inside a list prints inline, { a = 1, b = 2 }, when
//     it is short and holds no comment. Type and call arguments always
//     print on one line.
//   - Optional commas between attributes and fields are dropped.
//   - One blank line is kept where the source had one or more, never right
//     after an opening brace or before a closing one. A declaration that
//     spans several lines is always set apart by one blank line.
//   - Comments keep their order. A comment on its own line prints before
//     the next item at that item's indentation; one that starts on the line
//     where an item ends, or right after an opening brace, stays on that
//     line. A comment inside a construct printed on one line (a signature,
//     an inline list, a call) moves above that line. Line comments lose
//     their trailing blanks; block comments print verbatim.
//   - The file ends with exactly one newline.
package format
