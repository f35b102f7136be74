package pulsarworker

import (
	"slices"
	"strings"

	"github.com/apache/pulsar-client-go/pulsaradmin/pkg/utils"

	"github.com/meshc/meshc/internal/jsontext"
	"github.com/meshc/meshc/planner/plan"
)

// The bytes of a config file are encoding/json's (two-space indent, no
// HTML escaping, a newline at the end), written field by field: reflection
// over the config, the instance plan marshalled apart and the re-indenting
// pass over every file took most of the time of a large mesh's emit. A
// config with a field this encoder does not write goes to encoding/json.

// fileEncoder appends a config file to b.
type fileEncoder struct {
	jsontext.Writer
	err    error
	inputs []*plan.Input // reused to sort a component's inputs by topic
	// instanceText holds an instance plan at depth 0 before it is
	// indented into the file.
	instanceText []byte
	instances    plan.InstanceEncoder
}

// config appends the file of component c as encoding/json's indented
// Encoder writes its FunctionConfig: fc, with the input specs and user
// config of c (own, and the instance plan in at PlanKey), which fc leaves
// out. It reports false when fc has a field it does not write.
func (e *fileEncoder) config(fc *utils.FunctionConfig, c *plan.Component, own *ownUserConfig, in *plan.Instance) bool {
	if !writable(fc) {
		return false
	}
	e.Open('{')
	if fc.TimeoutMs != nil {
		e.Field("timeoutMs")
		e.Int(*fc.TimeoutMs)
	}
	e.optStr("topicsPattern", fc.TopicsPattern)
	e.boolField("cleanupSubscription", fc.CleanupSubscription)
	e.boolField("retainOrdering", fc.RetainOrdering)
	e.boolField("retainKeyOrdering", fc.RetainKeyOrdering)
	e.boolField("forwardSourceMessageProperty", fc.ForwardSourceMessageProperty)
	e.boolField("autoAck", fc.AutoAck)
	if fc.Parallelism != 0 {
		e.Field("parallelism")
		e.Int(int64(fc.Parallelism))
	}
	e.strField("output", fc.Output)
	e.strField("logTopic", fc.LogTopic)
	e.strField("processingGuarantees", fc.ProcessingGuarantees)
	e.strField("outputSchemaType", fc.OutputSchemaType)
	e.strField("runtime", fc.Runtime)
	e.strField("subName", fc.SubName)
	e.optStr("go", fc.Go)
	e.strField("tenant", fc.Tenant)
	e.strField("namespace", fc.Namespace)
	e.strField("name", fc.Name)
	if r := fc.Resources; r != nil {
		e.Field("resources")
		e.Open('{')
		e.Field("cpu")
		e.float(r.CPU)
		e.Field("disk")
		e.Int(r.Disk)
		e.Field("ram")
		e.Int(r.RAM)
		e.Close('}')
	}
	if len(fc.Inputs) > 0 {
		e.Field("inputs")
		e.Open('[')
		for _, s := range fc.Inputs {
			e.Item()
			e.String(s)
		}
		e.Close(']')
	}
	e.Field("userConfig") // never empty: it has own's keys
	e.userConfig(c.Config, own, in)
	if c.Kind != plan.Source && len(c.Inputs) > 0 {
		e.Field("inputSpecs")
		e.inputSpecs(c.Inputs)
	}
	if len(fc.Secrets) > 0 {
		e.Field("secrets")
		e.any(fc.Secrets)
	}
	e.boolField("exposePulsarAdminClientEnabled", fc.ExposePulsarAdminClientEnabled)
	e.boolField("skipToLatest", fc.SkipToLatest)
	e.strField("subscriptionPosition", fc.SubscriptionPosition)
	e.Close('}')
	e.B = append(e.B, '\n')
	return e.err == nil
}

// writable tells whether fc sets only fields that config writes, and
// leaves the input specs and user config to it. A field is named here
// rather than found by reflection, which took a tenth of the time of a
// file; TestWritableKnowsEveryField finds a field that is neither written
// nor named.
func writable(fc *utils.FunctionConfig) bool {
	return fc.BatchBuilder == "" && fc.MaxMessageRetries == nil && fc.ProducerConfig == nil &&
		len(fc.CustomSchemaOutputs) == 0 && fc.OutputSerdeClassName == "" && fc.OutputTypeClassName == "" &&
		fc.DeadLetterTopic == "" && fc.FQFN == "" && fc.Jar == nil && fc.Py == nil && fc.FunctionType == nil &&
		fc.RuntimeFlags == "" && fc.ClassName == "" && fc.WindowConfig == nil && fc.UserConfig == nil &&
		len(fc.CustomSerdeInputs) == 0 && len(fc.CustomSchemaInputs) == 0 && fc.InputSpecs == nil &&
		fc.InputTypeClassName == "" && fc.CustomRuntimeOptions == "" && fc.MaxPendingAsyncRequests == 0
}

// userConfig writes the component's config with own's keys and the
// instance plan at PlanKey in it, in the order of its keys, as
// encoding/json writes a map: the config's keys, already in order, merged
// with meshc's, which take the place of a config key of the same name.
func (e *fileEncoder) userConfig(config plan.Config, own *ownUserConfig, in *plan.Instance) {
	var buf [len(own.keys) + 1]string
	ours := append(append(buf[:0], own.list()...), PlanKey)
	slices.Sort(ours)
	e.Open('{')
	for len(config) > 0 || len(ours) > 0 {
		if len(ours) == 0 || len(config) > 0 && config[0].Key < ours[0] {
			e.Key(config[0].Key)
			e.any(config[0].Value)
			config = config[1:]
			continue
		}
		k := ours[0]
		if len(config) > 0 && config[0].Key == k {
			config = config[1:]
		}
		ours = ours[1:]
		e.Key(k)
		if k == PlanKey {
			e.instance(in)
		} else {
			e.String(own.values[slices.Index(own.list(), k)])
		}
	}
	e.Close('}')
}

// instance writes the plan as json.Marshal does (< > & escaped), then as
// the file's indent puts it, two levels in (the file's object, then
// userConfig).
func (e *fileEncoder) instance(in *plan.Instance) {
	var err error
	if e.instanceText, err = e.instances.Append(e.instanceText[:0], in, true); err != nil {
		e.fail(err)
		return
	}
	e.B = jsontext.AppendIndented(e.B, e.instanceText, e.Depth)
}

// inputSpecs writes the spec of each input topic in the order of the
// topics, as encoding/json writes a map: the last input of a topic holds.
func (e *fileEncoder) inputSpecs(inputs []plan.Input) {
	byTopic := e.inputs[:0]
	for i := range inputs {
		byTopic = append(byTopic, &inputs[i])
	}
	slices.SortStableFunc(byTopic, func(a, b *plan.Input) int { return strings.Compare(a.Topic, b.Topic) })
	e.Open('{')
	for i, in := range byTopic {
		if i+1 < len(byTopic) && byTopic[i+1].Topic == in.Topic {
			continue
		}
		e.Key(in.Topic)
		e.consumerConfig(inputSpec(in))
	}
	e.Close('}')
	e.inputs = byTopic
}

// consumerConfig writes cc; a field it does not write fails the file,
// which then goes to encoding/json.
func (e *fileEncoder) consumerConfig(cc utils.ConsumerConfig) {
	if cc.SerdeClassName != "" || cc.ReceiverQueueSize != 0 || len(cc.SchemaProperties) > 0 ||
		len(cc.ConsumerProperties) > 0 || cc.CryptoConfig != nil || cc.PoolMessages {
		e.fail(errUnwritten)
		return
	}
	e.Open('{')
	e.strField("schemaType", cc.SchemaType)
	if cc.RegexPattern {
		e.boolField("regexPattern", true)
	}
	e.Close('}')
}

// any writes a value of a user config or the secrets, as encoding/json
// does.
func (e *fileEncoder) any(v any) {
	if err := e.Any(v); err != nil {
		e.fail(err)
	}
}

func (e *fileEncoder) float(f float64) {
	var err error
	if e.B, err = jsontext.AppendFloat(e.B, f); err != nil {
		e.fail(err)
	}
}

func (e *fileEncoder) fail(err error) {
	if e.err == nil {
		e.err = err
	}
}

// The field helpers' names are literals of plain ASCII, as Field wants.

func (e *fileEncoder) strField(name, s string) {
	if s != "" {
		e.Field(name)
		e.String(s)
	}
}

func (e *fileEncoder) optStr(name string, s *string) {
	if s != nil {
		e.Field(name)
		e.String(*s)
	}
}

func (e *fileEncoder) boolField(name string, v bool) {
	e.Field(name)
	e.Bool(v)
}
