package runtime

import (
	"encoding/json"

	"github.com/apache/pulsar-client-go/pulsar"
	"github.com/meshc/meshc/planner/plan"
	"github.com/meshc/meshc/runtime/codec"
)

// PulsarSchema is the schema a producer or consumer of s declares to the
// broker, as Pulsar's clients declare theirs: STRING, INT64, DOUBLE, JSON
// and AVRO with the record's definition, PROTOBUF_NATIVE with the compiled
// .proto file. bytes, json without a record and bool declare none (the
// Go client has no BOOLEAN schema), which every topic accepts.
func PulsarSchema(s plan.Schema) (pulsar.Schema, error) {
	switch s.Type {
	case "string":
		return pulsar.NewStringSchema(nil), nil
	case "int64":
		return pulsar.NewInt64Schema(nil), nil
	case "float64":
		return pulsar.NewDoubleSchema(nil), nil
	case "json":
		if s.Definition != "" {
			return pulsar.NewJSONSchema(s.Definition, nil), nil
		}
	case "avro":
		return pulsar.NewAvroSchema(s.Definition, nil), nil
	case "protobuf":
		data, err := ProtoNativeSchemaData(s)
		if err != nil {
			return nil, err
		}
		return pulsar.NewSchema(pulsar.ProtoNative, data, nil)
	}
	return nil, nil
}

// ProtoNativeSchemaData is the schema data of a PROTOBUF_NATIVE schema,
// as pulsar-client-go's ProtoNativeSchema writes it: the descriptor set,
// the message's full name and the file that declares it.
func ProtoNativeSchemaData(s plan.Schema) ([]byte, error) {
	md, err := codec.MessageDescriptor(s.Descriptor, s.Message)
	if err != nil {
		return nil, err
	}
	return json.Marshal(pulsar.ProtoNativeSchemaData{
		FileDescriptorSet:      s.Descriptor,
		RootMessageTypeName:    string(md.FullName()),
		RootFileDescriptorName: md.ParentFile().Path(),
	})
}

// declaredSchema is the schema the instance's producer of topic declared,
// for another producer of the same topic.
func (in *instance) declaredSchema(topic string) pulsar.Schema {
	for _, t := range append([]*target{in.output}, in.publish...) {
		if t != nil && t.fqn == topic {
			s, _ := PulsarSchema(t.codec.Schema()) // made once already by target
			return s
		}
	}
	return nil
}
