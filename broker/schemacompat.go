package broker

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/apache/pulsar-client-go/pulsaradmin/pkg/utils"
	"github.com/hamba/avro/v2"
	"github.com/meshc/meshc/broker/internal/wire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/descriptorpb"
)

// direction says which way data must be readable between two versions.
type direction int

const (
	directionBackward direction = 1 << iota // the new version reads data written with the old
	directionForward                        // the old version reads data written with the new
	directionFull     = directionBackward | directionForward
)

// checkCompatible applies a compatibility strategy, as Pulsar does, to a
// new version next against the live versions, oldest first.
func checkCompatible(live []schemaVersion, next schemaVersion, strategy utils.SchemaCompatibilityStrategy) error {
	if len(live) == 0 {
		return nil
	}
	var dir direction
	transitive := false
	switch strategy {
	case utils.SchemaCompatibilityStrategyAlwaysCompatible:
		return nil
	case utils.SchemaCompatibilityStrategyAlwaysIncompatible:
		return errors.New("the strategy refuses every new version")
	case utils.SchemaCompatibilityStrategyBackward:
		dir = directionBackward
	case utils.SchemaCompatibilityStrategyForward:
		dir = directionForward
	case utils.SchemaCompatibilityStrategyBackwardTransitive:
		dir, transitive = directionBackward, true
	case utils.SchemaCompatibilityStrategyForwardTransitive:
		dir, transitive = directionForward, true
	case utils.SchemaCompatibilityStrategyFullTransitive:
		dir, transitive = directionFull, true
	default:
		dir = directionFull
	}
	check := live[len(live)-1:]
	if transitive {
		check = live
	}
	for i := len(check) - 1; i >= 0; i-- {
		if err := readable(check[i], next, dir); err != nil {
			if transitive && len(check) > 1 {
				return fmt.Errorf("with version %d of %d: %w", i, len(check), err)
			}
			return err
		}
	}
	return nil
}

// readable checks that data can be read between versions prev and next in
// the directions dir asks.
func readable(prev, next schemaVersion, dir direction) error {
	if prev.Type != next.Type {
		return fmt.Errorf("type %v differs from the stored %v", wire.Schema_Type(next.Type), wire.Schema_Type(prev.Type))
	}
	var check func(reader, writer []byte) error
	switch wire.Schema_Type(next.Type) {
	case wire.Schema_Avro, wire.Schema_Json, wire.Schema_Protobuf:
		check = avroReadable
	case wire.Schema_ProtobufNative:
		check = protoNativeReadable
	case wire.Schema_KeyValue:
		check = func(reader, writer []byte) error {
			if !bytes.Equal(reader, writer) {
				return errors.New("key/value definition differs from the stored one")
			}
			return nil
		}
	default:
		return nil // a primitive type reads itself
	}
	if dir&directionBackward != 0 {
		if err := check(next.Data, prev.Data); err != nil {
			return fmt.Errorf("the new schema cannot read data written with the stored one: %w", err)
		}
	}
	if dir&directionForward != 0 {
		if err := check(prev.Data, next.Data); err != nil {
			return fmt.Errorf("the stored schema cannot read data written with the new one: %w", err)
		}
	}
	return nil
}

// avroReadable applies Avro's schema resolution rules (AVRO, and JSON and
// PROTOBUF, which Pulsar describes with Avro schemas). Definitions that are
// not Avro schemas must be equal.
func avroReadable(reader, writer []byte) error {
	r, rerr := avro.ParseBytesWithCache(reader, "", &avro.SchemaCache{})
	w, werr := avro.ParseBytesWithCache(writer, "", &avro.SchemaCache{})
	if rerr != nil || werr != nil {
		if !bytes.Equal(reader, writer) {
			return errors.New("definitions that are not Avro schemas differ")
		}
		return nil
	}
	if err := avro.NewSchemaCompatibility().Compatible(r, w); err != nil {
		return errors.New(trimAvro(err.Error()))
	}
	return nil
}

func trimAvro(s string) string {
	if rest, ok := bytes.CutPrefix([]byte(s), []byte("avro: ")); ok {
		return string(rest)
	}
	return s
}

// protoNativeData is the schema data of PROTOBUF_NATIVE, as pulsar-client-go
// writes it.
type protoNativeData struct {
	FileDescriptorSet      []byte `json:"fileDescriptorSet"`
	RootMessageTypeName    string `json:"rootMessageTypeName"`
	RootFileDescriptorName string `json:"rootFileDescriptorName"`
}

// protoRoot reads the root message of PROTOBUF_NATIVE schema data.
func protoRoot(data []byte) (protoreflect.MessageDescriptor, error) {
	var d protoNativeData
	if err := json.Unmarshal(data, &d); err != nil {
		return nil, fmt.Errorf("PROTOBUF_NATIVE schema data is not JSON: %w", err)
	}
	var set descriptorpb.FileDescriptorSet
	if err := proto.Unmarshal(d.FileDescriptorSet, &set); err != nil {
		return nil, fmt.Errorf("fileDescriptorSet: %w", err)
	}
	files, err := protodesc.NewFiles(&set)
	if err != nil {
		return nil, fmt.Errorf("fileDescriptorSet: %w", err)
	}
	desc, err := files.FindDescriptorByName(protoreflect.FullName(d.RootMessageTypeName))
	if err != nil {
		return nil, fmt.Errorf("rootMessageTypeName %q: %w", d.RootMessageTypeName, err)
	}
	md, ok := desc.(protoreflect.MessageDescriptor)
	if !ok {
		return nil, fmt.Errorf("rootMessageTypeName %q is not a message", d.RootMessageTypeName)
	}
	return md, nil
}

// protoNativeReadable checks that the root message keeps its name (as
// Pulsar's check does), and, field number by field number, that a field
// kept keeps its type and cardinality and that a field the reader requires
// (proto2 required) is written.
func protoNativeReadable(reader, writer []byte) error {
	r, err := protoRoot(reader)
	if err != nil {
		return err
	}
	w, err := protoRoot(writer)
	if err != nil {
		return err
	}
	if r.FullName() != w.FullName() {
		return fmt.Errorf("root message %s differs from %s", r.FullName(), w.FullName())
	}
	return protoFieldsReadable(r, w, map[protoreflect.FullName]bool{})
}

func protoFieldsReadable(r, w protoreflect.MessageDescriptor, seen map[protoreflect.FullName]bool) error {
	if seen[r.FullName()] {
		return nil
	}
	seen[r.FullName()] = true
	rf := r.Fields()
	for i := range rf.Len() {
		f := rf.Get(i)
		wf := w.Fields().ByNumber(f.Number())
		switch {
		case wf == nil && f.Cardinality() == protoreflect.Required:
			return fmt.Errorf("required field %s (%d) is not written", f.FullName(), f.Number())
		case wf == nil:
			continue
		case wf.Kind() != f.Kind() || wf.Cardinality() != f.Cardinality() || wf.IsMap() != f.IsMap():
			return fmt.Errorf("field %d is %s %s here and %s %s in the other version", f.Number(), f.Cardinality(), f.Kind(), wf.Cardinality(), wf.Kind())
		case f.Message() != nil:
			if err := protoFieldsReadable(f.Message(), wf.Message(), seen); err != nil {
				return err
			}
		}
	}
	return nil
}
