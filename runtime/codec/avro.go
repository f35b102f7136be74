package codec

import (
	"encoding/json"
	"fmt"
)

// avroType is the part of an Avro schema that JSON records use: Pulsar
// describes JSON topics with an Avro record schema, and so do plans.
type avroType struct {
	kind     string // null, boolean, int, long, float, double, bytes, string, array, map, record, union
	items    *avroType
	fields   []avroField
	branches []*avroType
}

type avroField struct {
	name string
	typ  *avroType
}

// maxSchemaDepth bounds nesting in schema definitions read from a plan.
const maxSchemaDepth = 32

func parseAvro(def string) (*avroType, error) {
	var raw any
	if err := json.Unmarshal([]byte(def), &raw); err != nil {
		return nil, fmt.Errorf("schema definition is not JSON: %w", err)
	}
	p := avroParser{names: map[string]*avroType{}}
	return p.from(raw, 0)
}

// avroParser resolves named records, which may refer to themselves.
type avroParser struct {
	names map[string]*avroType
}

func (p avroParser) from(raw any, depth int) (*avroType, error) {
	if depth > maxSchemaDepth {
		return nil, fmt.Errorf("schema definition nests deeper than %d levels", maxSchemaDepth)
	}
	switch r := raw.(type) {
	case string:
		switch r {
		case "null", "boolean", "int", "long", "float", "double", "bytes", "string":
			return &avroType{kind: r}, nil
		}
		if t, ok := p.names[r]; ok {
			return t, nil
		}
		return nil, fmt.Errorf("unknown schema type %q", r)
	case []any:
		u := &avroType{kind: "union"}
		for _, b := range r {
			t, err := p.from(b, depth+1)
			if err != nil {
				return nil, err
			}
			u.branches = append(u.branches, t)
		}
		return u, nil
	case map[string]any:
		return p.complex(r, depth)
	}
	return nil, fmt.Errorf("invalid schema element %v", raw)
}

func (p avroParser) complex(r map[string]any, depth int) (*avroType, error) {
	kind, _ := r["type"].(string)
	switch kind {
	case "array", "map":
		key := map[string]string{"array": "items", "map": "values"}[kind]
		items, err := p.from(r[key], depth+1)
		if err != nil {
			return nil, err
		}
		return &avroType{kind: kind, items: items}, nil
	case "record":
		fields, _ := r["fields"].([]any)
		t := &avroType{kind: "record"}
		if name, _ := r["name"].(string); name != "" {
			p.names[name] = t // before the fields: a record may contain itself
		}
		for _, f := range fields {
			fm, _ := f.(map[string]any)
			name, _ := fm["name"].(string)
			if name == "" {
				return nil, fmt.Errorf("record field without a name in schema definition")
			}
			ft, err := p.from(fm["type"], depth+1)
			if err != nil {
				return nil, fmt.Errorf("field %s: %w", name, err)
			}
			t.fields = append(t.fields, avroField{name, ft})
		}
		return t, nil
	}
	return p.from(r["type"], depth+1)
}

// check reports how v, decoded from JSON with UseNumber, does not fit t.
func (t *avroType) check(v any, path string) error {
	switch t.kind {
	case "null":
		if v != nil {
			return mismatch(path, "null", v)
		}
	case "boolean":
		if _, ok := v.(bool); !ok {
			return mismatch(path, "a bool", v)
		}
	case "int", "long":
		n, ok := v.(json.Number)
		if _, err := n.Int64(); !ok || err != nil {
			return mismatch(path, "an integer", v)
		}
	case "float", "double":
		n, ok := v.(json.Number)
		if _, err := n.Float64(); !ok || err != nil {
			return mismatch(path, "a number", v)
		}
	case "string", "bytes":
		if _, ok := v.(string); !ok {
			return mismatch(path, "a string", v)
		}
	case "array":
		return t.checkArray(v, path)
	case "map":
		return t.checkMap(v, path)
	case "record":
		return t.checkRecord(v, path)
	case "union":
		return t.checkUnion(v, path)
	}
	return nil
}

func (t *avroType) checkArray(v any, path string) error {
	items, ok := v.([]any)
	if !ok {
		return mismatch(path, "a list", v)
	}
	for i, it := range items {
		if err := t.items.check(it, fmt.Sprintf("%s[%d]", path, i)); err != nil {
			return err
		}
	}
	return nil
}

func (t *avroType) checkMap(v any, path string) error {
	m, ok := v.(map[string]any)
	if !ok {
		return mismatch(path, "an object", v)
	}
	for k, it := range m {
		if err := t.items.check(it, path+"."+k); err != nil {
			return err
		}
	}
	return nil
}

// checkRecord requires every field that is not optional; fields the
// schema does not name are allowed, so writers can add fields first.
func (t *avroType) checkRecord(v any, path string) error {
	m, ok := v.(map[string]any)
	if !ok {
		return mismatch(path, "an object", v)
	}
	for _, f := range t.fields {
		fv, present := m[f.name]
		if !present && !f.typ.optional() {
			return fmt.Errorf("%s: missing required field %q", orRoot(path), f.name)
		}
		if present {
			if err := f.typ.check(fv, joinPath(path, f.name)); err != nil {
				return err
			}
		}
	}
	return nil
}

// checkUnion accepts v if any branch does. For the usual optional value,
// null or one type, the error is that type's, which says what is wrong.
func (t *avroType) checkUnion(v any, path string) error {
	var errs []error
	for _, b := range t.branches {
		err := b.check(v, path)
		if err == nil {
			return nil
		}
		if b.kind != "null" {
			errs = append(errs, err)
		}
	}
	if len(errs) == 1 {
		return errs[0]
	}
	return mismatch(path, "a value of the union", v)
}

func (t *avroType) optional() bool {
	if t.kind != "union" {
		return t.kind == "null"
	}
	for _, b := range t.branches {
		if b.kind == "null" {
			return true
		}
	}
	return false
}

func mismatch(path, want string, got any) error {
	return fmt.Errorf("%s: want %s, got %s", orRoot(path), want, describe(got))
}

func describe(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "a bool"
	case json.Number:
		return "a number"
	case string:
		return "a string"
	case []any:
		return "a list"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("%T", v)
}

func orRoot(path string) string {
	if path == "" {
		return "message"
	}
	return path
}

func joinPath(path, field string) string {
	if path == "" {
		return field
	}
	return path + "." + field
}
