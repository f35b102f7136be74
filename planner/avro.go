package planner

import (
	"encoding/json"
	"strings"

	"github.com/meshc/meshc/compiler"
)

// avroSchema writes a record type as the Avro record schema that Pulsar
// uses to describe JSON topics. Named types are defined once and referred
// to by name after that, which also ends recursion; anonymous records are
// named after the path that leads to them.
func avroSchema(t *compiler.Type) string {
	w := avroWriter{defined: map[*compiler.Type]bool{}}
	b, _ := json.Marshal(w.typ(t, "Record"))
	return string(b)
}

type avroWriter struct {
	defined map[*compiler.Type]bool
}

// avroRecord keeps its keys in Avro's usual order when marshalled.
type avroRecord struct {
	Type   string      `json:"type"`
	Name   string      `json:"name"`
	Fields []avroField `json:"fields"`
}

type avroField struct {
	Name    string `json:"name"`
	Type    any    `json:"type"`
	Default *any   `json:"default,omitempty"`
}

var avroScalars = map[compiler.TypeKind]any{
	compiler.String: "string", compiler.Int64: "long", compiler.Int32: "int", compiler.Float64: "double",
	compiler.Float32: "float", compiler.Bool: "boolean", compiler.Bytes: "bytes",
	compiler.Timestamp: map[string]string{"type": "long", "logicalType": "timestamp-millis"},
}

func (w avroWriter) typ(t *compiler.Type, path string) any {
	switch t.Kind {
	case compiler.List:
		return map[string]any{"type": "array", "items": w.typ(t.Elem, path+"Item")}
	case compiler.Map:
		return map[string]any{"type": "map", "values": w.typ(t.Elem, path+"Value")}
	case compiler.Record:
		return w.record(t, path)
	}
	return avroScalars[t.Kind]
}

func (w avroWriter) record(t *compiler.Type, path string) any {
	name := t.Name
	if name == "" {
		name = path
	}
	if w.defined[t] {
		return name
	}
	w.defined[t] = true
	r := avroRecord{Type: "record", Name: name, Fields: []avroField{}}
	for _, f := range t.Fields {
		ft := w.typ(f.Type, name+exported(f.Name))
		field := avroField{Name: f.Name, Type: ft}
		if f.Optional {
			var null any
			field.Type, field.Default = []any{"null", ft}, &null
		}
		r.Fields = append(r.Fields, field)
	}
	return r
}

// exported capitalises a field name for use in a generated record name.
func exported(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
