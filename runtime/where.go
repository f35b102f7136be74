package runtime

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"unicode"
)

// A where expression is comparisons joined by "and": amount > 100 and
// country == "FR". Each compares a dotted field path with a number, a
// quoted string, true or false, using == != < <= > >= or contains.
type where []comparison

type comparison struct {
	path, op string
	want     any // float64, string or bool
}

var whereCache sync.Map // expression text -> where or error

// compiledWhere returns the filter's expression from config "where",
// compiled once per distinct text.
func compiledWhere(ctx Context) (where, error) {
	text, _ := ctx.UserConfig()["where"].(string)
	if text == "" {
		return nil, fmt.Errorf("filter needs config where = \"FIELD OP VALUE\"")
	}
	if w, ok := whereCache.Load(text); ok {
		return w.(where), nil
	}
	w, err := parseWhere(text)
	if err != nil {
		return nil, err
	}
	whereCache.Store(text, w)
	return w, nil
}

func parseWhere(text string) (where, error) {
	var w where
	for _, part := range strings.Split(text, " and ") {
		fields := strings.Fields(part)
		if len(fields) < 3 {
			return nil, fmt.Errorf("where %q: want FIELD OP VALUE, as in amount > 100", part)
		}
		c := comparison{path: fields[0], op: fields[1]}
		switch c.op {
		case "==", "!=", "<", "<=", ">", ">=", "contains":
		default:
			return nil, fmt.Errorf("where %q: unknown operator %q (use == != < <= > >= contains)", part, c.op)
		}
		lit := afterFields(part, 2)
		v, err := parseLiteral(lit)
		if err != nil {
			return nil, fmt.Errorf("where %q: %w", part, err)
		}
		c.want = v
		w = append(w, c)
	}
	return w, nil
}

func parseLiteral(lit string) (any, error) {
	switch {
	case lit == "true" || lit == "false":
		return lit == "true", nil
	case strings.HasPrefix(lit, `"`):
		s, err := strconv.Unquote(lit)
		if err != nil {
			return nil, fmt.Errorf("bad string %s", lit)
		}
		return s, nil
	}
	f, err := strconv.ParseFloat(lit, 64)
	if err != nil {
		return nil, fmt.Errorf("bad value %s: want a number, a quoted string, true or false", lit)
	}
	return f, nil
}

func (w where) match(v any) bool {
	for _, c := range w {
		got, ok := lookup(v, c.path)
		if c.path == "." {
			got, ok = v, true
		}
		if !ok || !c.holds(got) {
			return false
		}
	}
	return true
}

func (c comparison) holds(got any) bool {
	if n, ok := got.(json.Number); ok {
		got, _ = n.Float64()
	}
	switch want := c.want.(type) {
	case float64:
		g, ok := got.(float64)
		return ok && compare(c.op, g, want)
	case string:
		g, ok := got.(string)
		if c.op == "contains" {
			return ok && strings.Contains(g, want)
		}
		return ok && compare(c.op, g, want)
	case bool:
		g, ok := got.(bool)
		return ok && (c.op == "==") == (g == want)
	}
	return false
}

func compare[T float64 | string](op string, a, b T) bool {
	switch op {
	case "==":
		return a == b
	case "!=":
		return a != b
	case "<":
		return a < b
	case "<=":
		return a <= b
	case ">":
		return a > b
	case ">=":
		return a >= b
	}
	return false
}

// afterFields is s without its first n fields, trimmed: the literal,
// which may itself hold spaces. Fields part at any white space, as
// strings.Fields does.
func afterFields(s string, n int) string {
	for range n {
		s = strings.TrimLeftFunc(s, unicode.IsSpace)
		if i := strings.IndexFunc(s, unicode.IsSpace); i >= 0 {
			s = s[i:]
		} else {
			s = ""
		}
	}
	return strings.TrimSpace(s)
}
