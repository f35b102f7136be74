package registrycheck

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/apache/pulsar-client-go/pulsar"
	"github.com/apache/pulsar-client-go/pulsaradmin/pkg/utils"
	"github.com/hamba/avro/v2"
	"github.com/meshc/meshc/runtime/codec"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/types/descriptorpb"
)

// sameSchema tells whether the registered schema describes the same
// messages as the mesh's: Avro definitions by their canonical form,
// protobuf descriptors by the root message, others by their bytes.
func sameSchema(held *utils.SchemaInfo, mine *pulsar.SchemaInfo) bool {
	if held.Type != typeName(mine.Type) {
		return false
	}
	switch mine.Type {
	case pulsar.AVRO, pulsar.JSON, pulsar.PROTOBUF:
		a, aerr := parseAvro(held.Schema)
		b, berr := parseAvro([]byte(mine.Schema))
		if aerr != nil || berr != nil {
			return bytes.Equal(held.Schema, []byte(mine.Schema))
		}
		return a.Fingerprint() == b.Fingerprint()
	case pulsar.ProtoNative:
		a, aerr := protoRoot(held.Schema)
		b, berr := protoRoot([]byte(mine.Schema))
		return aerr == nil && berr == nil && proto.Equal(a, b)
	}
	return bytes.Equal(held.Schema, []byte(mine.Schema))
}

// reason says, briefly, how the mesh's schema and the registered one
// differ, for the message: ": ..." or nothing.
func reason(held *utils.SchemaInfo, mine *pulsar.SchemaInfo) string {
	if held.Type != typeName(mine.Type) {
		return fmt.Sprintf(": the types differ (%s here)", typeName(mine.Type))
	}
	switch mine.Type {
	case pulsar.AVRO, pulsar.JSON, pulsar.PROTOBUF:
		theirs, err1 := parseAvro(held.Schema)
		ours, err2 := parseAvro([]byte(mine.Schema))
		if err1 != nil || err2 != nil {
			return ""
		}
		c := avro.NewSchemaCompatibility()
		if err := c.Compatible(ours, theirs); err != nil {
			return ": the mesh's schema cannot read the topic's data: " + strings.TrimPrefix(err.Error(), "avro: ")
		}
		if err := c.Compatible(theirs, ours); err != nil {
			return ": readers of the topic's schema cannot read the mesh's data: " + strings.TrimPrefix(err.Error(), "avro: ")
		}
	case pulsar.ProtoNative:
		theirs, err1 := protoRoot(held.Schema)
		ours, err2 := protoRoot([]byte(mine.Schema))
		if err1 == nil && err2 == nil && theirs.GetName() != ours.GetName() {
			return fmt.Sprintf(": its root message is %s, the mesh's %s", theirs.GetName(), ours.GetName())
		}
	}
	return ""
}

func parseAvro(def []byte) (avro.Schema, error) {
	return avro.ParseBytesWithCache(def, "", &avro.SchemaCache{})
}

// protoRoot reads the root message of PROTOBUF_NATIVE schema data, as a
// descriptor proto that compares by content.
func protoRoot(data []byte) (*descriptorpb.DescriptorProto, error) {
	var d pulsar.ProtoNativeSchemaData
	if err := json.Unmarshal(data, &d); err != nil {
		return nil, err
	}
	md, err := codec.MessageDescriptor(d.FileDescriptorSet, d.RootMessageTypeName)
	if err != nil {
		return nil, err
	}
	return protodesc.ToDescriptorProto(md), nil
}
