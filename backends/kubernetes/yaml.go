package kubernetes

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"

	yaml "go.yaml.in/yaml/v3"
)

// encodeYAML writes objects as one YAML stream, a document each. Objects
// go through JSON first, so the API types' own field names and omitempty
// rules apply; then null fields and a root status are dropped, strings are
// double-quoted (or literal blocks when they span lines) so that no YAML
// reader takes "y" or "0755" for a bool or a number, and map keys keep the
// order JSON gave them.
//
// The text is laid out as yaml.v3 lays out that node tree (indents of
// two, sequences indented under their key), written straight from the
// JSON: building the tree and running yaml.v3's emitter took most of the
// time of emitting a mesh. Scalars that are not plain printable text are
// still written by yaml.v3, so its quoting and escaping rules hold for
// them; yaml_test.go compares the two on every example and on fuzzed
// strings.
func encodeYAML(objs ...any) ([]byte, error) {
	w := &yamlWriter{}
	for i, o := range objs {
		data, err := json.Marshal(o)
		if err != nil {
			return nil, err
		}
		v, err := parseJSON(data)
		if err != nil {
			return nil, err
		}
		if i > 0 {
			w.b.WriteString("---\n")
		}
		if err := w.document(v); err != nil {
			return nil, err
		}
	}
	return w.b.Bytes(), nil
}

// yamlWriter writes YAML text.
type yamlWriter struct{ b bytes.Buffer }

// document writes an object, apiVersion and kind first (people look for
// them there; the API types encode kind first), without a status
// (generated objects have none of their own, and the API types encode an
// empty one).
func (w *yamlWriter) document(v *jsonValue) error {
	if v.kind != '{' {
		return fmt.Errorf("a manifest is a JSON object, not %q", v.kind)
	}
	top := &jsonValue{kind: '{'}
	for _, key := range []string{"apiVersion", "kind"} {
		for i, k := range v.keys {
			if k == key {
				top.keys, top.items = append(top.keys, k), append(top.items, v.items[i])
			}
		}
	}
	for i, k := range v.keys {
		if k != "apiVersion" && k != "kind" && k != "status" {
			top.keys, top.items = append(top.keys, k), append(top.items, v.items[i])
		}
	}
	if len(top.keys) == 0 {
		w.b.WriteString("{}\n")
		return nil
	}
	return w.mapping(top, 0, false)
}

// value writes v after "key:" or "-"; what it holds goes at column col.
func (w *yamlWriter) value(v *jsonValue, col int) error {
	switch {
	case v.kind == '{' && len(v.keys) == 0:
		w.scalarText("{}")
	case v.kind == '[' && len(v.items) == 0:
		w.scalarText("[]")
	case v.kind == '{':
		w.b.WriteByte('\n')
		return w.mapping(v, col, false)
	case v.kind == '[':
		w.b.WriteByte('\n')
		return w.sequence(v, col)
	case v.kind == '"':
		return w.str(v.s, col)
	default:
		w.scalarText(v.s)
	}
	return nil
}

func (w *yamlWriter) scalarText(s string) {
	w.b.WriteByte(' ')
	w.b.WriteString(s)
	w.b.WriteByte('\n')
}

// mapping writes the entries of a map at column col; the first is on the
// current line when it follows a sequence's "- ".
func (w *yamlWriter) mapping(v *jsonValue, col int, afterDash bool) error {
	for i, k := range v.keys {
		if i > 0 || !afterDash {
			w.indent(col)
		}
		if !simpleKey(k) {
			if err := w.byYAML(keyNode(k), toNode(v.items[i]), col); err != nil {
				return err
			}
			continue
		}
		w.key(k)
		w.b.WriteByte(':')
		if err := w.value(v.items[i], col+2); err != nil {
			return err
		}
	}
	return nil
}

// sequence writes the items of a list at column col, each after "- ".
func (w *yamlWriter) sequence(v *jsonValue, col int) error {
	for _, item := range v.items {
		w.indent(col)
		w.b.WriteByte('-')
		var err error
		switch {
		case item.kind == '{' && len(item.keys) > 0:
			w.b.WriteByte(' ')
			err = w.mapping(item, col+2, true)
		case item.kind == '[' && len(item.items) > 0:
			w.b.WriteByte(' ')
			err = w.nestedSequence(item, col+2)
		default:
			err = w.value(item, col+2)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// nestedSequence writes a list that is an item of a list, its first item
// on the current line.
func (w *yamlWriter) nestedSequence(v *jsonValue, col int) error {
	sub := &yamlWriter{}
	if err := sub.sequence(v, col); err != nil {
		return err
	}
	w.b.Write(sub.b.Bytes()[col:])
	return nil
}

func (w *yamlWriter) indent(col int) {
	for range col {
		w.b.WriteByte(' ')
	}
}

// plainKey matches keys that every YAML reader takes for strings as they
// are; the words YAML 1.1 reads as bools or null are quoted.
var (
	plainKey     = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_./-]*$`)
	ambiguousKey = map[string]bool{"y": true, "n": true, "yes": true, "no": true, "on": true, "off": true,
		"true": true, "false": true, "null": true}
)

// maxSimpleKey is the longest key yaml.v3 writes as "key: value"; longer
// ones take the "? key" form.
const maxSimpleKey = 128

// simpleKey is a key written here: one line of plain printable text.
func simpleKey(k string) bool { return len(k) <= maxSimpleKey && simpleText(k) }

func (w *yamlWriter) key(k string) {
	if plainKey.MatchString(k) && !ambiguousKey[strings.ToLower(k)] {
		w.b.WriteString(k)
		return
	}
	w.quoted(k)
}

func keyNode(k string) *yaml.Node {
	n := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: k}
	if !plainKey.MatchString(k) || ambiguousKey[strings.ToLower(k)] {
		n.Style = yaml.DoubleQuotedStyle
	}
	return n
}

func stringNode(s string) *yaml.Node {
	style := yaml.DoubleQuotedStyle
	if strings.Contains(strings.TrimSuffix(s, "\n"), "\n") {
		style = yaml.LiteralStyle
	}
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s, Style: style}
}

// toNode is v as a yaml.v3 node, its strings styled as encodeYAML styles
// them.
func toNode(v *jsonValue) *yaml.Node {
	switch v.kind {
	case '{':
		n := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
		for i, k := range v.keys {
			n.Content = append(n.Content, keyNode(k), toNode(v.items[i]))
		}
		return n
	case '[':
		n := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
		for _, item := range v.items {
			n.Content = append(n.Content, toNode(item))
		}
		return n
	case '"':
		return stringNode(v.s)
	case 'n':
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Value: "null"}
	}
	tag := "!!int"
	switch {
	case v.s == "true" || v.s == "false":
		tag = "!!bool"
	case strings.ContainsAny(v.s, ".eE"):
		tag = "!!float"
	}
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: tag, Value: v.s}
}

// str writes a string double-quoted, or as a literal block when it spans
// lines.
func (w *yamlWriter) str(s string, col int) error {
	n := stringNode(s)
	switch {
	case n.Style == yaml.DoubleQuotedStyle && simpleText(s):
		w.b.WriteByte(' ')
		w.quoted(s)
		w.b.WriteByte('\n')
		return nil
	case n.Style == yaml.LiteralStyle && simpleBlock(s):
		w.b.WriteString(" |\n")
		for line := range strings.Lines(s) {
			if line != "\n" {
				w.indent(col)
			}
			w.b.WriteString(line)
		}
		return nil
	}
	return w.byYAML(nil, n, col-2)
}

func (w *yamlWriter) quoted(s string) {
	w.b.WriteByte('"')
	w.b.WriteString(s)
	w.b.WriteByte('"')
}

// simpleText is text yaml.v3 writes double-quoted as it is: printable
// ASCII without quotes or backslashes.
func simpleText(s string) bool {
	for i := range len(s) {
		if c := s[i]; c < ' ' || c > '~' || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

// simpleBlock is text of whole lines that yaml.v3 writes as a literal
// block as it is, with no indicator: printable ASCII lines, the first not
// starting with a space, none ending in one, and one newline at the end.
func simpleBlock(s string) bool {
	if s == "" || s[0] == ' ' || s[0] == '\n' || !strings.HasSuffix(s, "\n") || strings.HasSuffix(s, "\n\n") {
		return false
	}
	for i := range len(s) {
		c := s[i]
		switch {
		case c == '\n':
			if i > 0 && s[i-1] == ' ' {
				return false
			}
		case c < ' ' || c > '~':
			return false
		}
	}
	return true
}

// byYAML writes what yaml.v3 writes of the entry key: value of a mapping
// at column col, or of value alone after "key:" when key is nil.
func (w *yamlWriter) byYAML(key, value *yaml.Node, col int) error {
	k := key
	if k == nil {
		k = &yaml.Node{Kind: yaml.ScalarNode, Value: "k"}
	}
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(&yaml.Node{Kind: yaml.MappingNode, Content: []*yaml.Node{k, value}}); err != nil {
		return err
	}
	if err := enc.Close(); err != nil {
		return err
	}
	text := b.String()
	if key == nil {
		text = strings.TrimPrefix(text, "k:")
	}
	for i, line := range strings.SplitAfter(text, "\n") {
		if i > 0 && line != "\n" && line != "" {
			w.indent(col)
		}
		w.b.WriteString(line)
	}
	return nil
}
