package compiler

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/bufbuild/protocompile"
	"github.com/bufbuild/protocompile/linker"
	"github.com/hamba/avro/v2"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/descriptorpb"
)

// schemaFile is what an avro or protobuf schema file gives a topic: the
// record its fields are checked with, and what the runtime decodes with.
type schemaFile struct {
	record     *Type
	definition string // avro: the schema, compact JSON
	descriptor []byte // protobuf: a FileDescriptorSet of the file and its imports
	err        error
}

// loadSchemaFile reads s.File, relative to the mesh file, and fills in
// s.Record, s.Definition and s.Descriptor. Each file (and message) is read
// once, so topics sharing it share one record type.
func (r *typeResolver) loadSchemaFile(s *Schema) {
	path := s.File
	if !filepath.IsAbs(path) && s.Span.Start().Filename() != "" {
		path = filepath.Join(filepath.Dir(s.Span.Start().Filename()), path)
	}
	key := string(s.Kind) + "\x00" + path + "\x00" + s.Message
	if r.files == nil {
		r.files = map[string]*schemaFile{}
	}
	f, ok := r.files[key]
	if !ok {
		if s.Kind == SchemaAvro {
			f = readAvroFile(path)
		} else {
			f = readProtoFile(path, s.Message)
		}
		r.files[key] = f
	}
	if f.err != nil {
		r.c.errorf(s.Span, "%s: %v", s, f.err).WithHint("%s", schemaFileHints[s.Kind])
		return
	}
	s.Record, s.Definition, s.Descriptor = f.record, f.definition, f.descriptor
}

var schemaFileHints = map[SchemaKind]string{
	SchemaAvro:     "the path is relative to the mesh file; the file holds one Avro record schema in JSON",
	SchemaProtobuf: "the path is relative to the mesh file, imports relative to its folder; name a message with its package, as in acme.Event",
}

// maxSchemaFile bounds a schema file, so that a path such as /dev/zero
// cannot stall a compile.
const maxSchemaFile = 16 << 20

// openSchemaFile opens a schema file, or a file it imports: a regular
// file, read up to maxSchemaFile bytes.
func openSchemaFile(path string) (io.ReadCloser, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	if st, err := f.Stat(); err != nil || !st.Mode().IsRegular() || st.Size() > maxSchemaFile {
		f.Close()
		if err == nil {
			err = fmt.Errorf("%s is not a regular file of at most %d MiB", path, maxSchemaFile>>20)
		}
		return nil, err
	}
	return struct {
		io.Reader
		io.Closer
	}{io.LimitReader(f, maxSchemaFile), f}, nil
}

func readAvroFile(path string) *schemaFile {
	text, err := readSchemaFile(path)
	if err != nil {
		return &schemaFile{err: fmt.Errorf("cannot read the schema file: %w", err)}
	}
	sch, err := avro.ParseBytesWithCache(text, "", &avro.SchemaCache{})
	if err != nil {
		return &schemaFile{err: fmt.Errorf("not an Avro schema: %w", err)}
	}
	if sch.Type() != avro.Record {
		return &schemaFile{err: fmt.Errorf("the schema is %s; a topic's Avro schema is a record", sch.Type())}
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, text); err != nil {
		return &schemaFile{err: fmt.Errorf("not JSON: %w", err)}
	}
	conv := avroTypes{named: map[string]*Type{}}
	rec, err := conv.typ(sch, "")
	if err != nil {
		return &schemaFile{err: err}
	}
	return &schemaFile{record: rec, definition: compact.String()}
}

func readSchemaFile(path string) ([]byte, error) {
	f, err := openSchemaFile(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(f)
}

// avroTypes turns Avro schemas into record types. Named records are
// converted once, which ends recursion.
type avroTypes struct {
	named map[string]*Type
}

func (a avroTypes) typ(s avro.Schema, path string) (*Type, error) {
	if ls, ok := s.(avro.LogicalTypeSchema); ok && ls.Logical() != nil && s.Type() == avro.Long {
		switch ls.Logical().Type() {
		case avro.TimestampMillis, avro.TimestampMicros:
			return &Type{Kind: Timestamp}, nil
		}
	}
	switch s.Type() {
	case avro.String, avro.Enum:
		return &Type{Kind: String}, nil
	case avro.Long:
		return &Type{Kind: Int64}, nil
	case avro.Int:
		return &Type{Kind: Int32}, nil
	case avro.Double:
		return &Type{Kind: Float64}, nil
	case avro.Float:
		return &Type{Kind: Float32}, nil
	case avro.Boolean:
		return &Type{Kind: Bool}, nil
	case avro.Bytes, avro.Fixed:
		return &Type{Kind: Bytes}, nil
	case avro.Ref:
		return a.typ(s.(*avro.RefSchema).Schema(), path)
	case avro.Array, avro.Map:
		var elem avro.Schema
		if arr, ok := s.(*avro.ArraySchema); ok {
			elem = arr.Items()
		} else {
			elem = s.(*avro.MapSchema).Values()
		}
		et, err := a.typ(elem, path+"[]")
		if err != nil {
			return nil, err
		}
		return &Type{Kind: map[avro.Type]TypeKind{avro.Array: List, avro.Map: Map}[s.Type()], Elem: et}, nil
	case avro.Record:
		return a.record(s.(*avro.RecordSchema), path)
	}
	return nil, fmt.Errorf("field %q: meshc does not check Avro %s fields; use null or one type, a record, an array or a map", orWhole(path), s.Type())
}

func (a avroTypes) record(s *avro.RecordSchema, path string) (*Type, error) {
	if t, ok := a.named[s.FullName()]; ok {
		return t, nil
	}
	t := &Type{Kind: Record, Name: s.FullName()}
	a.named[s.FullName()] = t
	for _, f := range s.Fields() {
		ft, optional := f.Type(), false
		if u, ok := ft.(*avro.UnionSchema); ok {
			var others []avro.Schema
			for _, b := range u.Types() {
				if b.Type() == avro.Null {
					optional = true
				} else {
					others = append(others, b)
				}
			}
			if len(others) != 1 {
				return nil, fmt.Errorf("field %q: meshc checks unions of null and one type only", join(path, f.Name()))
			}
			ft = others[0]
		}
		typ, err := a.typ(ft, join(path, f.Name()))
		if err != nil {
			return nil, err
		}
		t.Fields = append(t.Fields, &Field{Name: f.Name(), Type: typ, Optional: optional || f.HasDefault()})
	}
	return t, nil
}

func orWhole(path string) string {
	if path == "" {
		return "(the record)"
	}
	return path
}

func readProtoFile(path, message string) *schemaFile {
	c := protocompile.Compiler{
		Resolver: protocompile.WithStandardImports(&protocompile.SourceResolver{
			ImportPaths: []string{filepath.Dir(path)}, Accessor: openSchemaFile}),
		SourceInfoMode: protocompile.SourceInfoNone,
	}
	files, err := c.Compile(context.Background(), filepath.Base(path))
	if err != nil {
		return &schemaFile{err: fmt.Errorf("cannot compile the .proto file: %w", err)}
	}
	d := files[0].FindDescriptorByName(protoreflect.FullName(message))
	md, ok := d.(protoreflect.MessageDescriptor)
	if !ok {
		var names []string
		msgs := files[0].Messages()
		for i := range msgs.Len() {
			names = append(names, string(msgs.Get(i).FullName()))
		}
		return &schemaFile{err: fmt.Errorf("the file has no message %s (it has %s)", message, strings.Join(names, ", "))}
	}
	set, err := descriptorSet(files[0])
	if err != nil {
		return &schemaFile{err: err}
	}
	return &schemaFile{record: protoTypes{}.message(md), descriptor: set}
}

// descriptorSet serializes f and its imports, imports first, in a stable
// order, so the same file gives the same plan.
func descriptorSet(f linker.File) ([]byte, error) {
	var set descriptorpb.FileDescriptorSet
	seen := map[string]bool{}
	var add func(fd protoreflect.FileDescriptor)
	add = func(fd protoreflect.FileDescriptor) {
		if seen[fd.Path()] {
			return
		}
		seen[fd.Path()] = true
		imps := fd.Imports()
		for i := range imps.Len() {
			add(imps.Get(i).FileDescriptor)
		}
		set.File = append(set.File, protodesc.ToFileDescriptorProto(fd))
	}
	add(f)
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(&set)
	if err != nil {
		return nil, fmt.Errorf("serializing the compiled .proto file: %w", err)
	}
	return b, nil
}

// protoTypes turns protobuf messages into record types; a message is
// converted once, which ends recursion. A field with presence (a message,
// optional or oneof field) is optional; others always have a value.
type protoTypes map[protoreflect.FullName]*Type

func (p protoTypes) message(md protoreflect.MessageDescriptor) *Type {
	if t, ok := p[md.FullName()]; ok {
		return t
	}
	t := &Type{Kind: Record, Name: string(md.FullName())}
	p[md.FullName()] = t
	fields := md.Fields()
	for i := range fields.Len() {
		f := fields.Get(i)
		var ft *Type
		switch {
		case f.IsMap():
			ft = &Type{Kind: Map, Elem: p.scalar(f.MapValue())}
		case f.IsList():
			ft = &Type{Kind: List, Elem: p.scalar(f)}
		default:
			ft = p.scalar(f)
		}
		t.Fields = append(t.Fields, &Field{Name: string(f.Name()), Type: ft, Optional: f.HasPresence()})
	}
	return t
}

func (p protoTypes) scalar(f protoreflect.FieldDescriptor) *Type {
	switch f.Kind() {
	case protoreflect.BoolKind:
		return &Type{Kind: Bool}
	case protoreflect.StringKind, protoreflect.EnumKind:
		return &Type{Kind: String}
	case protoreflect.BytesKind:
		return &Type{Kind: Bytes}
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind, protoreflect.Uint32Kind, protoreflect.Fixed32Kind:
		return &Type{Kind: Int32}
	case protoreflect.FloatKind:
		return &Type{Kind: Float32}
	case protoreflect.DoubleKind:
		return &Type{Kind: Float64}
	case protoreflect.MessageKind, protoreflect.GroupKind:
		return p.message(f.Message())
	}
	return &Type{Kind: Int64}
}
