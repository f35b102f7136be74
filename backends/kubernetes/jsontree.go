package kubernetes

import (
	"encoding/json"
	"fmt"
)

// jsonValue is a JSON value with its object keys in the order written,
// read from what encoding/json wrote: the input of encodeYAML.
type jsonValue struct {
	kind  byte   // '{', '[', '"', 'n' (null), or 'l' (number, true, false)
	s     string // a string's value; a literal's text
	keys  []string
	items []*jsonValue // an object's values (beside keys), an array's items
}

// parseJSON reads one JSON value. Members of objects that are null are
// left out: a null field is an unset one.
func parseJSON(data []byte) (*jsonValue, error) {
	p := &jsonParser{data: data}
	v, err := p.value()
	if err != nil {
		return nil, err
	}
	if p.skipSpace(); p.i != len(p.data) {
		return nil, p.errorf("text after the value")
	}
	return v, nil
}

type jsonParser struct {
	data []byte
	i    int
}

func (p *jsonParser) errorf(format string, args ...any) error {
	return fmt.Errorf("reading JSON at byte %d: %s", p.i, fmt.Sprintf(format, args...))
}

func (p *jsonParser) skipSpace() {
	for p.i < len(p.data) {
		switch p.data[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

func (p *jsonParser) value() (*jsonValue, error) {
	p.skipSpace()
	if p.i >= len(p.data) {
		return nil, p.errorf("unexpected end")
	}
	switch c := p.data[p.i]; c {
	case '{':
		return p.object()
	case '[':
		return p.array()
	case '"':
		s, err := p.str()
		return &jsonValue{kind: '"', s: s}, err
	default:
		start := p.i
		for p.i < len(p.data) && !isJSONDelim(p.data[p.i]) {
			p.i++
		}
		text := string(p.data[start:p.i])
		if text == "null" {
			return &jsonValue{kind: 'n', s: "null"}, nil
		}
		if text == "" {
			return nil, p.errorf("unexpected %q", c)
		}
		return &jsonValue{kind: 'l', s: text}, nil
	}
}

func isJSONDelim(c byte) bool {
	switch c {
	case ',', ']', '}', ':', ' ', '\t', '\n', '\r':
		return true
	}
	return false
}

func (p *jsonParser) object() (*jsonValue, error) {
	v := &jsonValue{kind: '{'}
	p.i++ // {
	for n := 0; ; n++ {
		p.skipSpace()
		if p.i < len(p.data) && p.data[p.i] == '}' {
			p.i++
			return v, nil
		}
		if n > 0 {
			if err := p.expect(','); err != nil {
				return nil, err
			}
			p.skipSpace()
		}
		if p.i >= len(p.data) || p.data[p.i] != '"' {
			return nil, p.errorf("want a key")
		}
		k, err := p.str()
		if err != nil {
			return nil, err
		}
		if err := p.expect(':'); err != nil {
			return nil, err
		}
		item, err := p.value()
		if err != nil {
			return nil, err
		}
		if item.kind != 'n' {
			v.keys, v.items = append(v.keys, k), append(v.items, item)
		}
	}
}

func (p *jsonParser) array() (*jsonValue, error) {
	v := &jsonValue{kind: '['}
	p.i++ // [
	for n := 0; ; n++ {
		p.skipSpace()
		if p.i < len(p.data) && p.data[p.i] == ']' {
			p.i++
			return v, nil
		}
		if n > 0 {
			if err := p.expect(','); err != nil {
				return nil, err
			}
		}
		item, err := p.value()
		if err != nil {
			return nil, err
		}
		v.items = append(v.items, item)
	}
}

func (p *jsonParser) expect(c byte) error {
	p.skipSpace()
	if p.i >= len(p.data) || p.data[p.i] != c {
		return p.errorf("want %q", c)
	}
	p.i++
	return nil
}

// str reads a string; one with escapes is decoded by encoding/json.
func (p *jsonParser) str() (string, error) {
	start := p.i
	p.i++ // "
	escaped := false
	for p.i < len(p.data) {
		switch p.data[p.i] {
		case '\\':
			escaped = true
			p.i += 2
			continue
		case '"':
			p.i++
			if !escaped {
				return string(p.data[start+1 : p.i-1]), nil
			}
			var s string
			if err := json.Unmarshal(p.data[start:p.i], &s); err != nil {
				return "", p.errorf("%v", err)
			}
			return s, nil
		}
		p.i++
	}
	return "", p.errorf("unterminated string")
}
