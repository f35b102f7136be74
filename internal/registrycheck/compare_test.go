package registrycheck

import (
	"strings"
	"testing"

	"github.com/apache/pulsar-client-go/pulsar"
	"github.com/apache/pulsar-client-go/pulsaradmin/pkg/utils"
)

const (
	orderA  = `{"type":"record","name":"Order","fields":[{"name":"id","type":"string"}]}`
	orderA2 = `{"type": "record", "name": "Order", "fields": [{"name": "id", "type": "string", "doc": "the id"}]}`
	orderAB = `{"type":"record","name":"Order","fields":[{"name":"id","type":"string"},{"name":"b","type":"int"}]}`
)

// TestCompare: what counts as the same schema, and the reason given for a
// difference.
func TestCompare(t *testing.T) {
	for _, tc := range []struct {
		name   string
		held   utils.SchemaInfo
		mine   *pulsar.SchemaInfo
		same   bool
		reason string
	}{
		{"same Avro, other spelling", utils.SchemaInfo{Type: "AVRO", Schema: []byte(orderA2)},
			&pulsar.SchemaInfo{Type: pulsar.AVRO, Schema: orderA}, true, ""},
		{"field added without default", utils.SchemaInfo{Type: "AVRO", Schema: []byte(orderA)},
			&pulsar.SchemaInfo{Type: pulsar.AVRO, Schema: orderAB}, false, "the mesh's schema cannot read the topic's data: reader field b is missing"},
		{"field dropped", utils.SchemaInfo{Type: "JSON", Schema: []byte(orderAB)},
			&pulsar.SchemaInfo{Type: pulsar.JSON, Schema: orderA}, false, "readers of the topic's schema cannot read the mesh's data"},
		{"other type", utils.SchemaInfo{Type: "STRING"},
			&pulsar.SchemaInfo{Type: pulsar.AVRO, Schema: orderA}, false, "the types differ (AVRO here)"},
		{"same primitive", utils.SchemaInfo{Type: "INT64"}, &pulsar.SchemaInfo{Type: pulsar.INT64}, true, ""},
	} {
		if got := sameSchema(&tc.held, tc.mine); got != tc.same {
			t.Errorf("%s: same = %v, want %v", tc.name, got, tc.same)
		}
		if got := reason(&tc.held, tc.mine); !strings.Contains(got, tc.reason) || (tc.reason == "") != (got == "") {
			t.Errorf("%s: reason %q, want %q", tc.name, got, tc.reason)
		}
	}
}
