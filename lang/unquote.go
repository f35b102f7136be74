package lang

import (
	"strconv"
	"strings"
)

// Unquote returns the text a string literal stands for: a raw string's
// text as written, a double-quoted string with its escapes decoded.
func Unquote(lit string) (string, error) {
	if strings.HasPrefix(lit, "`") {
		return strings.Trim(lit, "`"), nil
	}
	return strconv.Unquote(lit)
}
