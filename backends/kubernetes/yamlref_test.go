package kubernetes

// The YAML encoder of before, kept as the reference of yaml_test.go.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"

	yaml "go.yaml.in/yaml/v3"
)

// referenceYAML is how encodeYAML wrote YAML through yaml.v3's node tree:
// the oracle its own text is compared with. It writes objects as one YAML stream, a document each. Objects
// go through JSON first, so the API types' own field names and omitempty
// rules apply; then null fields and a root status are dropped, strings are
// double-quoted (or literal blocks when they span lines) so that no YAML
// reader takes "y" or "0755" for a bool or a number, and map keys keep the
// order JSON gave them.
func referenceYAML(objs ...any) ([]byte, error) {
	var b bytes.Buffer
	for i, o := range objs {
		data, err := json.Marshal(o)
		if err != nil {
			return nil, err
		}
		n, err := refJsonToNode(json.NewDecoder(bytes.NewReader(data)))
		if err != nil {
			return nil, err
		}
		refDropRootStatus(n)
		refTypeFirst(n)
		if i > 0 {
			b.WriteString("---\n")
		}
		enc := yaml.NewEncoder(&b)
		enc.SetIndent(2)
		if err := enc.Encode(n); err != nil {
			return nil, err
		}
		if err := enc.Close(); err != nil {
			return nil, err
		}
	}
	return b.Bytes(), nil
}

// jsonToNode reads one JSON value into a YAML node, keeping key order.
func refJsonToNode(dec *json.Decoder) (*yaml.Node, error) {
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	return refValueNode(dec, tok)
}

func refValueNode(dec *json.Decoder, tok json.Token) (*yaml.Node, error) {
	switch v := tok.(type) {
	case json.Delim:
		if v == '[' {
			return refSeqNode(dec)
		}
		return refMapNode(dec)
	case string:
		return refStringNode(v), nil
	case json.Number:
		tag := "!!int"
		if strings.ContainsAny(string(v), ".eE") {
			tag = "!!float"
		}
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: tag, Value: string(v)}, nil
	case bool:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: fmt.Sprint(v)}, nil
	case nil:
		return nil, nil
	}
	return nil, fmt.Errorf("unexpected JSON token %v", tok)
}

func refSeqNode(dec *json.Decoder) (*yaml.Node, error) {
	n := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		item, err := refValueNode(dec, tok)
		if err != nil {
			return nil, err
		}
		if item == nil {
			item = &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Value: "null"}
		}
		n.Content = append(n.Content, item)
	}
	_, err := dec.Token() // ]
	return n, err
}

func refMapNode(dec *json.Decoder) (*yaml.Node, error) {
	n := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		key, _ := tok.(string)
		tok, err = dec.Token()
		if err != nil {
			return nil, err
		}
		val, err := refValueNode(dec, tok)
		if err != nil {
			return nil, err
		}
		if val == nil {
			continue // null: the field is unset
		}
		n.Content = append(n.Content, refKeyNode(key), val)
	}
	_, err := dec.Token() // }
	return n, err
}

func refStringNode(s string) *yaml.Node {
	style := yaml.DoubleQuotedStyle
	if strings.Contains(strings.TrimSuffix(s, "\n"), "\n") {
		style = yaml.LiteralStyle
	}
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s, Style: style}
}

// refPlainKey matches keys that every YAML reader takes for strings as they
// are; the words YAML 1.1 reads as bools or null are quoted.
var (
	refPlainKey     = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_./-]*$`)
	refAmbiguousKey = map[string]bool{"y": true, "n": true, "yes": true, "no": true, "on": true, "off": true,
		"true": true, "false": true, "null": true}
)

func refKeyNode(k string) *yaml.Node {
	n := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: k}
	if !refPlainKey.MatchString(k) || refAmbiguousKey[strings.ToLower(k)] {
		n.Style = yaml.DoubleQuotedStyle
	}
	return n
}

// dropRootStatus removes an object's status: generated objects have none
// of their own, and the API types encode an empty one.
func refDropRootStatus(n *yaml.Node) {
	if n == nil || n.Kind != yaml.MappingNode {
		return
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == "status" {
			n.Content = append(n.Content[:i], n.Content[i+2:]...)
			return
		}
	}
}

// typeFirst moves apiVersion and kind to the top of an object, where
// people look for them (the API types encode kind first).
func refTypeFirst(n *yaml.Node) {
	if n == nil || n.Kind != yaml.MappingNode {
		return
	}
	var head, rest []*yaml.Node
	for _, key := range []string{"apiVersion", "kind"} {
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == key {
				head = append(head, n.Content[i], n.Content[i+1])
			}
		}
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if k := n.Content[i].Value; k != "apiVersion" && k != "kind" {
			rest = append(rest, n.Content[i], n.Content[i+1])
		}
	}
	n.Content = append(head, rest...)
}
