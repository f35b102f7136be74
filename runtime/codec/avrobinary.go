package codec

import (
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"unicode/utf8"

	"github.com/hamba/avro/v2"
)

// maxPayload bounds one string or bytes value in a payload: Pulsar's
// default largest message.
const maxPayload = 5 << 20

// avroConfig lets one value be as large as a whole message.
var avroConfig = avro.Config{MaxByteSliceSize: maxPayload}.Freeze()

// avroBinary reads and writes Avro's binary encoding of one schema, as
// pulsar-client-go's AvroSchema does, into the values JSON decoding gives:
// records and maps as map[string]any, arrays as []any, numbers as
// json.Number, enums as their symbol, bytes and fixed as []byte, a union
// as the value of its branch. Logical types are their underlying numbers
// (timestamp-millis is an int64 of milliseconds).
type avroBinary struct {
	schema avro.Schema
}

func newAvroBinary(def string) (*avroBinary, error) {
	s, err := avro.ParseWithCache(def, "", &avro.SchemaCache{})
	if err != nil {
		return nil, fmt.Errorf("avro schema: %w", err)
	}
	return &avroBinary{schema: s}, nil
}

func (a *avroBinary) decode(payload []byte) (any, error) {
	r := avro.NewReader(nil, 0, avro.WithReaderConfig(avroConfig)).Reset(payload)
	d := avroDecoder{r: r, budget: len(payload)}
	v, err := d.read(a.schema, "", 0)
	if err == nil && r.Error != nil {
		err = r.Error
	}
	if err != nil {
		return nil, payloadErrorf("invalid Avro: %v", err)
	}
	if r.Peek(); r.Error == nil {
		return nil, payloadErrorf("invalid Avro: data after the record")
	}
	return v, nil
}

// avroDecoder walks a schema over a payload. budget bounds the items of
// all arrays and maps, so that a forged count cannot loop for long over
// items that take no bytes.
type avroDecoder struct {
	r      *avro.Reader
	budget int
}

func (d *avroDecoder) read(s avro.Schema, path string, depth int) (any, error) {
	if depth > MaxJSONDepth {
		return nil, fmt.Errorf("%s: nests deeper than %d levels", orRoot(path), MaxJSONDepth)
	}
	if d.r.Error != nil {
		return nil, d.r.Error
	}
	switch s.Type() {
	case avro.Null:
		return nil, nil
	case avro.Boolean:
		return d.r.ReadBool(), nil
	case avro.Int:
		return json.Number(strconv.FormatInt(int64(d.r.ReadInt()), 10)), nil
	case avro.Long:
		return json.Number(strconv.FormatInt(d.r.ReadLong(), 10)), nil
	case avro.Float:
		return number(float64(d.r.ReadFloat()), 32), nil
	case avro.Double:
		return number(d.r.ReadDouble(), 64), nil
	case avro.String:
		str := d.r.ReadString()
		if !utf8.ValidString(str) {
			return nil, fmt.Errorf("%s: string is not valid UTF-8", orRoot(path))
		}
		return str, nil
	case avro.Bytes:
		return append([]byte{}, d.r.ReadBytes()...), nil
	case avro.Fixed:
		b := make([]byte, s.(*avro.FixedSchema).Size())
		d.r.Read(b)
		return b, nil
	case avro.Enum:
		syms := s.(*avro.EnumSchema).Symbols()
		i := d.r.ReadInt()
		if i < 0 || int(i) >= len(syms) {
			return nil, fmt.Errorf("%s: enum index %d out of range", orRoot(path), i)
		}
		return syms[i], nil
	case avro.Ref:
		return d.read(s.(*avro.RefSchema).Schema(), path, depth+1)
	case avro.Record:
		fields := s.(*avro.RecordSchema).Fields()
		m := make(map[string]any, len(fields))
		for _, f := range fields {
			v, err := d.read(f.Type(), joinPath(path, f.Name()), depth+1)
			if err != nil {
				return nil, err
			}
			m[f.Name()] = v
		}
		return m, nil
	case avro.Union:
		types := s.(*avro.UnionSchema).Types()
		i := d.r.ReadLong()
		if i < 0 || i >= int64(len(types)) {
			return nil, fmt.Errorf("%s: union branch %d out of range", orRoot(path), i)
		}
		return d.read(types[i], path, depth+1)
	case avro.Array:
		return d.array(s.(*avro.ArraySchema).Items(), path, depth)
	case avro.Map:
		return d.mapping(s.(*avro.MapSchema).Values(), path, depth)
	}
	return nil, fmt.Errorf("%s: unsupported schema type %s", orRoot(path), s.Type())
}

// blocks reads the block headers of an array or a map, calling item for
// each item announced.
func (d *avroDecoder) blocks(path string, item func(i int) error) error {
	for i := 0; ; {
		n, _ := d.r.ReadBlockHeader()
		if d.r.Error != nil {
			return d.r.Error
		}
		if n == 0 {
			return nil
		}
		if n < 0 || n > int64(d.budget) {
			return fmt.Errorf("%s: block of %d items is longer than the payload", orRoot(path), n)
		}
		d.budget -= int(n)
		for range n {
			if err := item(i); err != nil {
				return err
			}
			i++
		}
	}
}

func (d *avroDecoder) array(items avro.Schema, path string, depth int) (any, error) {
	out := []any{}
	err := d.blocks(path, func(i int) error {
		v, err := d.read(items, fmt.Sprintf("%s[%d]", path, i), depth+1)
		out = append(out, v)
		return err
	})
	return out, err
}

func (d *avroDecoder) mapping(values avro.Schema, path string, depth int) (any, error) {
	out := map[string]any{}
	err := d.blocks(path, func(int) error {
		k := d.r.ReadString()
		v, err := d.read(values, joinPath(path, k), depth+1)
		out[k] = v
		return err
	})
	return out, err
}

// number is f as JSON decoding gives it; NaN and infinities, which JSON
// cannot hold, stay float64.
func number(f float64, bits int) any {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return f
	}
	return json.Number(strconv.FormatFloat(f, 'g', -1, bits))
}

func (a *avroBinary) encode(v any) ([]byte, error) {
	w := avro.NewWriter(nil, 256, avro.WithWriterConfig(avroConfig))
	if err := writeAvro(w, a.schema, v, "", 0); err != nil {
		return nil, err
	}
	return w.Buffer(), nil
}

// writeAvro writes v, a value as decode gives or as a Go function builds
// one (any integer or float type), in the encoding of s.
func writeAvro(w *avro.Writer, s avro.Schema, v any, path string, depth int) error {
	if depth > MaxJSONDepth {
		return fmt.Errorf("%s: nests deeper than %d levels", orRoot(path), MaxJSONDepth)
	}
	bad := func(want string) error { return mismatch(path, want, v) }
	switch s.Type() {
	case avro.Null:
		if v != nil {
			return bad("null")
		}
	case avro.Boolean:
		b, ok := v.(bool)
		if !ok {
			return bad("a bool")
		}
		w.WriteBool(b)
	case avro.Int:
		n, ok := AsInt64(v)
		if !ok || n != int64(int32(n)) {
			return bad("a 32-bit integer")
		}
		w.WriteInt(int32(n))
	case avro.Long:
		n, ok := AsInt64(v)
		if !ok {
			return bad("an integer")
		}
		w.WriteLong(n)
	case avro.Float, avro.Double:
		f, ok := AsFloat64(v)
		if !ok {
			return bad("a number")
		}
		if s.Type() == avro.Float {
			w.WriteFloat(float32(f))
		} else {
			w.WriteDouble(f)
		}
	case avro.String:
		str, ok := v.(string)
		if !ok {
			return bad("a string")
		}
		w.WriteString(str)
	case avro.Bytes, avro.Fixed:
		return writeAvroBytes(w, s, v, path)
	case avro.Enum:
		return writeAvroEnum(w, s.(*avro.EnumSchema), v, path)
	case avro.Ref:
		return writeAvro(w, s.(*avro.RefSchema).Schema(), v, path, depth+1)
	case avro.Record:
		return writeAvroRecord(w, s.(*avro.RecordSchema), v, path, depth)
	case avro.Union:
		return writeAvroUnion(w, s.(*avro.UnionSchema), v, path, depth)
	case avro.Array:
		items, ok := v.([]any)
		if !ok {
			return bad("a list")
		}
		if len(items) > 0 {
			w.WriteBlockHeader(int64(len(items)), 0)
		}
		for i, it := range items {
			if err := writeAvro(w, s.(*avro.ArraySchema).Items(), it, fmt.Sprintf("%s[%d]", path, i), depth+1); err != nil {
				return err
			}
		}
		w.WriteBlockHeader(0, 0)
	case avro.Map:
		return writeAvroMap(w, s.(*avro.MapSchema), v, path, depth)
	default:
		return fmt.Errorf("%s: unsupported schema type %s", orRoot(path), s.Type())
	}
	return nil
}

func writeAvroBytes(w *avro.Writer, s avro.Schema, v any, path string) error {
	var b []byte
	switch x := v.(type) {
	case []byte:
		b = x
	case string:
		b = []byte(x)
	default:
		return mismatch(path, "bytes", v)
	}
	if f, ok := s.(*avro.FixedSchema); ok {
		if len(b) != f.Size() {
			return fmt.Errorf("%s: want %d bytes, got %d", orRoot(path), f.Size(), len(b))
		}
		_, _ = w.Write(b)
		return nil
	}
	w.WriteBytes(b)
	return nil
}

func writeAvroEnum(w *avro.Writer, s *avro.EnumSchema, v any, path string) error {
	str, _ := v.(string)
	for i, sym := range s.Symbols() {
		if sym == str {
			w.WriteInt(int32(i))
			return nil
		}
	}
	return mismatch(path, fmt.Sprintf("one of %v", s.Symbols()), v)
}

// writeAvroRecord writes the fields the schema names; a field the value
// lacks takes its default, or null when it may be null.
func writeAvroRecord(w *avro.Writer, s *avro.RecordSchema, v any, path string, depth int) error {
	m, ok := v.(map[string]any)
	if !ok {
		return mismatch(path, "an object", v)
	}
	for _, f := range s.Fields() {
		fv, present := m[f.Name()]
		if !present {
			switch {
			case f.HasDefault():
				fv = f.Default()
			case !avroNullable(f.Type()):
				return fmt.Errorf("%s: missing required field %q", orRoot(path), f.Name())
			}
		}
		if err := writeAvro(w, f.Type(), fv, joinPath(path, f.Name()), depth+1); err != nil {
			return err
		}
	}
	return nil
}

func avroNullable(s avro.Schema) bool {
	u, ok := s.(*avro.UnionSchema)
	return ok && u.Contains(avro.Null)
}

// writeAvroUnion writes v as the first branch it fits.
func writeAvroUnion(w *avro.Writer, s *avro.UnionSchema, v any, path string, depth int) error {
	var first error
	for i, t := range s.Types() {
		try := avro.NewWriter(nil, 64, avro.WithWriterConfig(avroConfig))
		err := writeAvro(try, t, v, path, depth+1)
		if err == nil {
			w.WriteLong(int64(i))
			_, _ = w.Write(try.Buffer())
			return nil
		}
		if first == nil && t.Type() != avro.Null {
			first = err
		}
	}
	if first == nil {
		first = mismatch(path, "a value of the union", v)
	}
	return first
}

func writeAvroMap(w *avro.Writer, s *avro.MapSchema, v any, path string, depth int) error {
	m, ok := v.(map[string]any)
	if !ok {
		return mismatch(path, "an object", v)
	}
	if len(m) > 0 {
		w.WriteBlockHeader(int64(len(m)), 0)
	}
	for _, k := range slices.Sorted(maps.Keys(m)) {
		w.WriteString(k)
		if err := writeAvro(w, s.Values(), m[k], joinPath(path, k), depth+1); err != nil {
			return err
		}
	}
	w.WriteBlockHeader(0, 0)
	return nil
}
