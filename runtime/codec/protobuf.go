package codec

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/dynamicpb"
)

// protoMessage reads and writes one protobuf message type, described by
// the FileDescriptorSet the planner compiled, into the values JSON
// decoding gives: messages and maps as map[string]any keyed by the .proto
// field names, repeated fields as []any, numbers as json.Number, enums as
// their value's name, bytes as []byte. A field with presence (a message,
// optional or oneof field) is left out when unset; other fields always
// carry their value, the default included, as protobuf defines them.
type protoMessage struct {
	desc protoreflect.MessageDescriptor
}

// MessageDescriptor finds message in a serialized FileDescriptorSet.
func MessageDescriptor(set []byte, message string) (protoreflect.MessageDescriptor, error) {
	var fds descriptorpb.FileDescriptorSet
	if err := proto.Unmarshal(set, &fds); err != nil {
		return nil, fmt.Errorf("protobuf descriptor: %w", err)
	}
	files, err := protodesc.NewFiles(&fds)
	if err != nil {
		return nil, fmt.Errorf("protobuf descriptor: %w", err)
	}
	d, err := files.FindDescriptorByName(protoreflect.FullName(message))
	if err != nil {
		return nil, fmt.Errorf("protobuf descriptor: message %s: %w", message, err)
	}
	md, ok := d.(protoreflect.MessageDescriptor)
	if !ok {
		return nil, fmt.Errorf("protobuf descriptor: %s is not a message", message)
	}
	return md, nil
}

func newProtoMessage(set []byte, message string) (*protoMessage, error) {
	md, err := MessageDescriptor(set, message)
	if err != nil {
		return nil, err
	}
	return &protoMessage{desc: md}, nil
}

func (p *protoMessage) decode(payload []byte) (any, error) {
	m := dynamicpb.NewMessage(p.desc)
	if err := (proto.UnmarshalOptions{RecursionLimit: MaxJSONDepth}).Unmarshal(payload, m); err != nil {
		return nil, payloadErrorf("invalid protobuf %s: %v", p.desc.FullName(), err)
	}
	return protoRecord(m), nil
}

func protoRecord(m protoreflect.Message) map[string]any {
	out := map[string]any{}
	fields := m.Descriptor().Fields()
	for i := range fields.Len() {
		f := fields.Get(i)
		if f.HasPresence() && !m.Has(f) {
			continue
		}
		out[string(f.Name())] = protoField(f, m.Get(f))
	}
	return out
}

func protoField(f protoreflect.FieldDescriptor, v protoreflect.Value) any {
	switch {
	case f.IsList():
		l := v.List()
		out := make([]any, l.Len())
		for i := range l.Len() {
			out[i] = protoScalar(f, l.Get(i))
		}
		return out
	case f.IsMap():
		out := map[string]any{}
		v.Map().Range(func(k protoreflect.MapKey, v protoreflect.Value) bool {
			out[k.String()] = protoScalar(f.MapValue(), v)
			return true
		})
		return out
	}
	return protoScalar(f, v)
}

func protoScalar(f protoreflect.FieldDescriptor, v protoreflect.Value) any {
	switch f.Kind() {
	case protoreflect.BoolKind:
		return v.Bool()
	case protoreflect.EnumKind:
		if ev := f.Enum().Values().ByNumber(v.Enum()); ev != nil {
			return string(ev.Name())
		}
		return json.Number(strconv.Itoa(int(v.Enum())))
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind,
		protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		return json.Number(strconv.FormatInt(v.Int(), 10))
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind, protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		return json.Number(strconv.FormatUint(v.Uint(), 10))
	case protoreflect.FloatKind:
		return number(v.Float(), 32)
	case protoreflect.DoubleKind:
		return number(v.Float(), 64)
	case protoreflect.StringKind:
		return v.String()
	case protoreflect.BytesKind:
		return append([]byte{}, v.Bytes()...)
	case protoreflect.MessageKind, protoreflect.GroupKind:
		return protoRecord(v.Message())
	}
	return nil
}

func (p *protoMessage) encode(v any) ([]byte, error) {
	m := dynamicpb.NewMessage(p.desc)
	if err := fillProto(m, v, "", 0); err != nil {
		return nil, err
	}
	return proto.MarshalOptions{Deterministic: true}.Marshal(m)
}

// fillProto sets the fields of m that v names; names the message does not
// have are ignored, as a JSON reader ignores them.
func fillProto(m protoreflect.Message, v any, path string, depth int) error {
	if depth > MaxJSONDepth {
		return fmt.Errorf("%s: nests deeper than %d levels", orRoot(path), MaxJSONDepth)
	}
	rec, ok := v.(map[string]any)
	if !ok {
		return mismatch(path, "an object", v)
	}
	fields := m.Descriptor().Fields()
	for _, name := range slices.Sorted(maps.Keys(rec)) {
		f := fields.ByName(protoreflect.Name(name))
		if f == nil || rec[name] == nil {
			continue
		}
		if err := setProtoField(m, f, rec[name], joinPath(path, name), depth); err != nil {
			return err
		}
	}
	return nil
}

func setProtoField(m protoreflect.Message, f protoreflect.FieldDescriptor, v any, path string, depth int) error {
	switch {
	case f.IsList():
		items, ok := v.([]any)
		if !ok {
			return mismatch(path, "a list", v)
		}
		l := m.Mutable(f).List()
		for i, it := range items {
			pv, err := protoValue(f, func() protoreflect.Value { return l.NewElement() }, it, fmt.Sprintf("%s[%d]", path, i), depth)
			if err != nil {
				return err
			}
			l.Append(pv)
		}
		return nil
	case f.IsMap():
		return setProtoMap(m, f, v, path, depth)
	}
	pv, err := protoValue(f, func() protoreflect.Value { return m.NewField(f) }, v, path, depth)
	if err != nil {
		return err
	}
	m.Set(f, pv)
	return nil
}

func setProtoMap(m protoreflect.Message, f protoreflect.FieldDescriptor, v any, path string, depth int) error {
	entries, ok := v.(map[string]any)
	if !ok {
		return mismatch(path, "an object", v)
	}
	pm := m.Mutable(f).Map()
	for _, k := range slices.Sorted(maps.Keys(entries)) {
		key, err := protoValue(f.MapKey(), nil, mapKey(f.MapKey(), k), joinPath(path, k), depth)
		if err != nil {
			return err
		}
		val, err := protoValue(f.MapValue(), func() protoreflect.Value { return pm.NewValue() }, entries[k], joinPath(path, k), depth)
		if err != nil {
			return err
		}
		pm.Set(key.MapKey(), val)
	}
	return nil
}

// mapKey is a map key as its field kind reads it: keys are text in JSON.
func mapKey(f protoreflect.FieldDescriptor, k string) any {
	switch f.Kind() {
	case protoreflect.StringKind:
		return k
	case protoreflect.BoolKind:
		return k == "true"
	}
	return json.Number(k)
}

// protoValue converts v to the value of field f; newMessage makes the
// message a message-typed field holds.
func protoValue(f protoreflect.FieldDescriptor, newMessage func() protoreflect.Value, v any, path string, depth int) (protoreflect.Value, error) {
	bad := func(want string) (protoreflect.Value, error) { return protoreflect.Value{}, mismatch(path, want, v) }
	switch f.Kind() {
	case protoreflect.BoolKind:
		if b, ok := v.(bool); ok {
			return protoreflect.ValueOfBool(b), nil
		}
		return bad("a bool")
	case protoreflect.EnumKind:
		return protoEnum(f, v, path)
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind:
		if n, ok := AsInt64(v); ok && n == int64(int32(n)) {
			return protoreflect.ValueOfInt32(int32(n)), nil
		}
		return bad("a 32-bit integer")
	case protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		if n, ok := AsInt64(v); ok {
			return protoreflect.ValueOfInt64(n), nil
		}
		return bad("an integer")
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind:
		if n, ok := AsInt64(v); ok && n >= 0 && n == int64(uint32(n)) {
			return protoreflect.ValueOfUint32(uint32(n)), nil
		}
		return bad("an unsigned 32-bit integer")
	case protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		if n, ok := asUint64(v); ok {
			return protoreflect.ValueOfUint64(n), nil
		}
		return bad("an unsigned integer")
	case protoreflect.FloatKind, protoreflect.DoubleKind:
		if x, ok := AsFloat64(v); ok {
			if f.Kind() == protoreflect.FloatKind {
				return protoreflect.ValueOfFloat32(float32(x)), nil
			}
			return protoreflect.ValueOfFloat64(x), nil
		}
		return bad("a number")
	case protoreflect.StringKind:
		if s, ok := v.(string); ok {
			return protoreflect.ValueOfString(s), nil
		}
		return bad("a string")
	case protoreflect.BytesKind:
		switch b := v.(type) {
		case []byte:
			return protoreflect.ValueOfBytes(b), nil
		case string:
			return protoreflect.ValueOfBytes([]byte(b)), nil
		}
		return bad("bytes")
	case protoreflect.MessageKind, protoreflect.GroupKind:
		msg := newMessage()
		if err := fillProto(msg.Message(), v, path, depth+1); err != nil {
			return protoreflect.Value{}, err
		}
		return msg, nil
	}
	return bad(string(f.Kind().String()))
}

func protoEnum(f protoreflect.FieldDescriptor, v any, path string) (protoreflect.Value, error) {
	if s, ok := v.(string); ok {
		if ev := f.Enum().Values().ByName(protoreflect.Name(s)); ev != nil {
			return protoreflect.ValueOfEnum(ev.Number()), nil
		}
	}
	if n, ok := AsInt64(v); ok && n == int64(int32(n)) {
		return protoreflect.ValueOfEnum(protoreflect.EnumNumber(n)), nil
	}
	return protoreflect.Value{}, mismatch(path, "a value of enum "+string(f.Enum().FullName()), v)
}

func asUint64(v any) (uint64, bool) {
	if n, ok := v.(json.Number); ok {
		u, err := strconv.ParseUint(string(n), 10, 64)
		return u, err == nil
	}
	n, ok := AsInt64(v)
	return uint64(n), ok && n >= 0
}
