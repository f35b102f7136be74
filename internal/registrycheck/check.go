package registrycheck

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/apache/pulsar-client-go/pulsar"
	"github.com/apache/pulsar-client-go/pulsaradmin"
	"github.com/apache/pulsar-client-go/pulsaradmin/pkg/rest"
	"github.com/apache/pulsar-client-go/pulsaradmin/pkg/utils"
	"github.com/meshc/meshc/compiler"
	"github.com/meshc/meshc/lang"
	"github.com/meshc/meshc/planner/plan"
	"github.com/meshc/meshc/runtime"
)

// Check asks the cluster behind admin about each topic of the plan that
// has a schema: a topic whose registered schema and namespace strategy
// refuse the mesh's is an error, a topic that holds another schema the
// strategy would take is a warning (the mesh's producers would register a
// new version). Each is reported at the topic's schema in the mesh. An
// error means the cluster could not be asked; each call is bounded by the
// admin client's timeout.
func Check(admin pulsaradmin.Client, m *compiler.Mesh, p *plan.Plan) (lang.Diagnostics, error) {
	var diags lang.Diagnostics
	for _, pt := range p.Topics {
		t := m.Topic(pt.Name)
		if pt.Pattern != "" || t == nil || t.Schema == nil {
			continue
		}
		d, err := checkTopic(admin, t, pt)
		if err != nil {
			return diags, fmt.Errorf("topic %s: %w", pt.FQN, err)
		}
		if d != nil {
			diags = append(diags, d)
		}
	}
	return diags, nil
}

func checkTopic(admin pulsaradmin.Client, t *compiler.Topic, pt plan.Topic) (*lang.Diagnostic, error) {
	schema, err := runtime.PulsarSchema(pt.Schema)
	if err != nil || schema == nil {
		return nil, err
	}
	mine := schema.GetSchemaInfo()
	// All versions rather than the latest: pulsaradmin prints the error
	// of GetSchemaInfoWithVersion on standard output.
	versions, err := admin.Schemas().GetAllSchemas(pt.FQN)
	var re rest.Error
	switch {
	case errors.As(err, &re) && re.Code == http.StatusNotFound || err == nil && len(versions) == 0:
		return nil, nil // nothing registered: the first producer registers the mesh's
	case err != nil:
		return nil, fmt.Errorf("reading its schema: %w", err)
	}
	held := versions[len(versions)-1]
	payload := utils.PostSchemaPayload{SchemaType: typeName(mine.Type), Schema: mine.Schema, Properties: mine.Properties}
	ok, err := admin.Schemas().TestCompatibilityWithPostSchemaPayload(pt.FQN, payload)
	if err != nil {
		return nil, fmt.Errorf("testing the mesh's schema: %w", err)
	}
	at := t.Schema.Span
	theirs := fmt.Sprintf("%s (version %d)", held.SchemaInfo.Type, held.Version)
	if !ok.IsCompatibility {
		d := lang.Errorf(at.Start(), at.End(), "topic %s: the cluster holds schema %s for %s, and its namespace's strategy %s refuses the mesh's %s%s",
			t.Name, theirs, pt.FQN, ok.SchemaCompatibilityStrategy, t.Schema, reason(held.SchemaInfo, mine))
		d.Hint = "producers of the mesh would be refused (IncompatibleSchema): make the schema compatible with the topic's, use another topic, or change the namespace's schemaCompatibilityStrategy"
		return d, nil
	}
	if !sameSchema(held.SchemaInfo, mine) {
		d := lang.Warningf(at.Start(), at.End(), "topic %s: the cluster holds schema %s for %s, which differs from the mesh's %s%s",
			t.Name, theirs, pt.FQN, t.Schema, reason(held.SchemaInfo, mine))
		d.Hint = fmt.Sprintf("strategy %s takes it: the mesh's producers would register a new version", ok.SchemaCompatibilityStrategy)
		return d, nil
	}
	return nil, nil
}

// typeName is Pulsar's name of a schema type, as the admin API writes it.
func typeName(t pulsar.SchemaType) string {
	if name, ok := typeNames[t]; ok {
		return name
	}
	return fmt.Sprint(int(t))
}

var typeNames = map[pulsar.SchemaType]string{
	pulsar.STRING: "STRING", pulsar.JSON: "JSON", pulsar.PROTOBUF: "PROTOBUF", pulsar.AVRO: "AVRO",
	pulsar.BOOLEAN: "BOOLEAN", pulsar.INT8: "INT8", pulsar.INT16: "INT16", pulsar.INT32: "INT32",
	pulsar.INT64: "INT64", pulsar.FLOAT: "FLOAT", pulsar.DOUBLE: "DOUBLE", pulsar.KeyValue: "KEY_VALUE",
	pulsar.BYTES: "BYTES", pulsar.ProtoNative: "PROTOBUF_NATIVE",
}
