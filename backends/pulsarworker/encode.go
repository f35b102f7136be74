package pulsarworker

import (
	"bytes"
	"reflect"
	"slices"
	"strconv"

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
	err error
}

// config appends fc as encoding/json's indented Encoder writes it, with
// the instance plan in at PlanKey of its user config. It reports false
// when fc has a field it does not write.
func (e *fileEncoder) config(fc *utils.FunctionConfig, in *plan.Instance) bool {
	if !writable(fc) {
		return false
	}
	e.Open('{')
	if fc.TimeoutMs != nil {
		e.Key("timeoutMs")
		e.B = strconv.AppendInt(e.B, *fc.TimeoutMs, 10)
	}
	e.optStr("topicsPattern", fc.TopicsPattern)
	e.boolField("cleanupSubscription", fc.CleanupSubscription)
	e.boolField("retainOrdering", fc.RetainOrdering)
	e.boolField("retainKeyOrdering", fc.RetainKeyOrdering)
	e.boolField("forwardSourceMessageProperty", fc.ForwardSourceMessageProperty)
	e.boolField("autoAck", fc.AutoAck)
	if fc.Parallelism != 0 {
		e.Key("parallelism")
		e.B = strconv.AppendInt(e.B, int64(fc.Parallelism), 10)
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
		e.Key("resources")
		e.Open('{')
		e.Key("cpu")
		e.float(r.CPU)
		e.Key("disk")
		e.B = strconv.AppendInt(e.B, r.Disk, 10)
		e.Key("ram")
		e.B = strconv.AppendInt(e.B, r.RAM, 10)
		e.Close('}')
	}
	if len(fc.Inputs) > 0 {
		e.Key("inputs")
		e.Open('[')
		for _, s := range fc.Inputs {
			e.Item()
			e.String(s)
		}
		e.Close(']')
	}
	if len(fc.UserConfig) > 0 || in != nil {
		e.Key("userConfig")
		e.userConfig(fc.UserConfig, in)
	}
	if len(fc.InputSpecs) > 0 {
		e.Key("inputSpecs")
		e.inputSpecs(fc.InputSpecs)
	}
	if len(fc.Secrets) > 0 {
		e.Key("secrets")
		e.any(fc.Secrets)
	}
	e.boolField("exposePulsarAdminClientEnabled", fc.ExposePulsarAdminClientEnabled)
	e.boolField("skipToLatest", fc.SkipToLatest)
	e.strField("subscriptionPosition", fc.SubscriptionPosition)
	e.Close('}')
	e.B = append(e.B, '\n')
	return e.err == nil
}

// writable tells whether every field of fc that is set is one config
// writes.
func writable(fc *utils.FunctionConfig) bool {
	rest := *fc
	rest.TimeoutMs, rest.TopicsPattern = nil, nil
	rest.CleanupSubscription, rest.RetainOrdering, rest.RetainKeyOrdering = false, false, false
	rest.ForwardSourceMessageProperty, rest.AutoAck = false, false
	rest.Parallelism = 0
	rest.Output, rest.LogTopic, rest.ProcessingGuarantees, rest.OutputSchemaType = "", "", "", ""
	rest.Runtime, rest.SubName, rest.Go = "", "", nil
	rest.Tenant, rest.Namespace, rest.Name = "", "", ""
	rest.Resources, rest.Inputs, rest.UserConfig, rest.InputSpecs, rest.Secrets = nil, nil, nil, nil, nil
	rest.ExposePulsarAdminClientEnabled, rest.SkipToLatest, rest.SubscriptionPosition = false, false, ""
	if !reflect.ValueOf(rest).IsZero() {
		return false
	}
	for _, cc := range fc.InputSpecs {
		cc.SchemaType, cc.RegexPattern = "", false
		if !reflect.ValueOf(cc).IsZero() {
			return false
		}
	}
	return true
}

// userConfig writes the user config with the instance plan at PlanKey, in
// the order of its keys, as encoding/json writes a map.
func (e *fileEncoder) userConfig(uc map[string]any, in *plan.Instance) {
	keys := jsontext.SortedKeys(&e.Writer, uc)
	defer e.Release(keys)
	if in != nil {
		if i, found := slices.BinarySearch(keys, PlanKey); !found {
			keys = slices.Insert(keys, i, PlanKey)
		}
	}
	e.Open('{')
	for _, k := range keys {
		e.Key(k)
		if k == PlanKey && in != nil {
			e.instance(in)
			continue
		}
		e.any(uc[k])
	}
	e.Close('}')
}

// instance writes the plan as json.Marshal does (< > & escaped), then as
// the file's indent puts it, two levels in (the file's object, then
// userConfig): each line after the first moves right by four spaces, in
// place, from the end.
func (e *fileEncoder) instance(in *plan.Instance) {
	const indent = "    "
	start := len(e.B)
	var err error
	if e.B, err = plan.AppendInstance(e.B, in, true); err != nil {
		e.fail(err)
		return
	}
	// A line break in JSON text is only ever between values: in strings it
	// is escaped.
	src := e.B[start:]
	shift := len(indent) * bytes.Count(src, []byte{'\n'})
	e.B = slices.Grow(e.B, shift)[:len(e.B)+shift]
	end := len(e.B)
	for {
		i := bytes.LastIndexByte(src, '\n')
		if i < 0 {
			break
		}
		n := copy(e.B[end-(len(src)-i-1):end], src[i+1:])
		end -= n + len(indent)
		copy(e.B[end:], indent)
		src = src[:i]
		end--
		e.B[end] = '\n'
	}
}

func (e *fileEncoder) inputSpecs(m map[string]utils.ConsumerConfig) {
	keys := jsontext.SortedKeys(&e.Writer, m)
	defer e.Release(keys)
	e.Open('{')
	for _, k := range keys {
		e.Key(k)
		cc := m[k]
		e.Open('{')
		e.strField("schemaType", cc.SchemaType)
		if cc.RegexPattern {
			e.boolField("regexPattern", true)
		}
		e.Close('}')
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

func (e *fileEncoder) strField(name, s string) {
	if s != "" {
		e.Key(name)
		e.String(s)
	}
}

func (e *fileEncoder) optStr(name string, s *string) {
	if s != nil {
		e.Key(name)
		e.String(*s)
	}
}

func (e *fileEncoder) boolField(name string, v bool) {
	e.Key(name)
	e.B = strconv.AppendBool(e.B, v)
}
