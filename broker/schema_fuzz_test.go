package broker

import (
	"testing"

	"github.com/apache/pulsar-client-go/pulsaradmin/pkg/utils"
	"github.com/meshc/meshc/broker/internal/wire"
)

// FuzzSchemaCompatibility feeds the registry's checks the schema data
// clients send (Avro and JSON definitions, PROTOBUF_NATIVE descriptors):
// a check answers or refuses, it never panics.
func FuzzSchemaCompatibility(f *testing.F) {
	f.Add(int32(wire.Schema_Avro), []byte(recA), []byte(recAB), uint8(0))
	f.Add(int32(wire.Schema_Json), []byte(recAB), []byte(recBRequired), uint8(3))
	f.Add(int32(wire.Schema_Avro), []byte(`{"type":"record","name":"L","fields":[{"name":"n","type":["null","L"]}]}`), []byte(recA), uint8(6))
	f.Add(int32(wire.Schema_ProtobufNative), []byte(`{"fileDescriptorSet":"CgA=","rootMessageTypeName":"a.B"}`), []byte(`{}`), uint8(2))
	strategies := []utils.SchemaCompatibilityStrategy{
		utils.SchemaCompatibilityStrategyBackward, utils.SchemaCompatibilityStrategyForward,
		utils.SchemaCompatibilityStrategyFull, utils.SchemaCompatibilityStrategyBackwardTransitive,
		utils.SchemaCompatibilityStrategyForwardTransitive, utils.SchemaCompatibilityStrategyFullTransitive,
		utils.SchemaCompatibilityStrategyAlwaysCompatible, utils.SchemaCompatibilityStrategyAlwaysIncompatible,
	}
	f.Fuzz(func(t *testing.T, typ int32, prev, next []byte, strategy uint8) {
		held := []schemaVersion{{Type: typ, Data: prev}}
		_ = checkCompatible(held, schemaVersion{Type: typ, Data: next}, strategies[int(strategy)%len(strategies)])
	})
}
