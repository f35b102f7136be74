package pulsarworker

import (
	"bytes"
	"encoding/json"
	"maps"
	"reflect"
	"slices"
	"strconv"

	"github.com/apache/pulsar-client-go/pulsaradmin/pkg/utils"

	"github.com/meshc/meshc/planner/plan"
)

// The bytes of a config file are encoding/json's (two-space indent, no
// HTML escaping, a newline at the end), written field by field: reflection
// over the config, the instance plan marshalled apart and the re-indenting
// pass over every file took most of the time of a large mesh's emit. A
// config with a field this encoder does not write goes to encoding/json.

// fileEncoder appends a config file to b.
type fileEncoder struct {
	b       []byte
	depth   int
	scratch []byte // the instance plan before it is indented into b
	err     error
}

// config appends fc as encoding/json's indented Encoder writes it, with
// the instance plan in at PlanKey of its user config. It reports false
// when fc has a field it does not write.
func (e *fileEncoder) config(fc *utils.FunctionConfig, in *plan.Instance) bool {
	if !writable(fc) {
		return false
	}
	e.open('{')
	if fc.TimeoutMs != nil {
		e.key("timeoutMs")
		e.b = strconv.AppendInt(e.b, *fc.TimeoutMs, 10)
	}
	e.optStr("topicsPattern", fc.TopicsPattern)
	e.boolField("cleanupSubscription", fc.CleanupSubscription)
	e.boolField("retainOrdering", fc.RetainOrdering)
	e.boolField("retainKeyOrdering", fc.RetainKeyOrdering)
	e.boolField("forwardSourceMessageProperty", fc.ForwardSourceMessageProperty)
	e.boolField("autoAck", fc.AutoAck)
	if fc.Parallelism != 0 {
		e.key("parallelism")
		e.b = strconv.AppendInt(e.b, int64(fc.Parallelism), 10)
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
		e.key("resources")
		e.open('{')
		e.key("cpu")
		e.value(r.CPU)
		e.key("disk")
		e.b = strconv.AppendInt(e.b, r.Disk, 10)
		e.key("ram")
		e.b = strconv.AppendInt(e.b, r.RAM, 10)
		e.close('}')
	}
	if len(fc.Inputs) > 0 {
		e.key("inputs")
		e.open('[')
		for _, s := range fc.Inputs {
			e.item()
			e.str(s)
		}
		e.close(']')
	}
	if len(fc.UserConfig) > 0 || in != nil {
		e.key("userConfig")
		e.userConfig(fc.UserConfig, in)
	}
	if len(fc.InputSpecs) > 0 {
		e.key("inputSpecs")
		e.inputSpecs(fc.InputSpecs)
	}
	if len(fc.Secrets) > 0 {
		e.key("secrets")
		e.anyMap(fc.Secrets)
	}
	e.boolField("exposePulsarAdminClientEnabled", fc.ExposePulsarAdminClientEnabled)
	e.boolField("skipToLatest", fc.SkipToLatest)
	e.strField("subscriptionPosition", fc.SubscriptionPosition)
	e.close('}')
	e.b = append(e.b, '\n')
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
	keys := slices.Sorted(maps.Keys(uc))
	if in != nil {
		if i, found := slices.BinarySearch(keys, PlanKey); !found {
			keys = slices.Insert(keys, i, PlanKey)
		}
	}
	e.open('{')
	for _, k := range keys {
		e.key(k)
		if k == PlanKey && in != nil {
			e.instance(in)
			continue
		}
		e.value(uc[k])
	}
	e.close('}')
}

// instance writes the plan as json.Marshal does (< > & escaped), then as
// the file's indent puts it, two levels in (the file's object, then
// userConfig).
func (e *fileEncoder) instance(in *plan.Instance) {
	var err error
	e.scratch, err = plan.AppendInstance(e.scratch[:0], in, true)
	if err != nil {
		e.fail(err)
		return
	}
	const indent = "    "
	// A line break in JSON text is only ever between values: in strings it
	// is escaped.
	for rest := e.scratch; len(rest) > 0; {
		i := bytes.IndexByte(rest, '\n')
		if i < 0 {
			e.b = append(e.b, rest...)
			break
		}
		e.b = append(e.b, rest[:i+1]...)
		e.b = append(e.b, indent...)
		rest = rest[i+1:]
	}
}

func (e *fileEncoder) inputSpecs(m map[string]utils.ConsumerConfig) {
	e.open('{')
	for _, k := range slices.Sorted(maps.Keys(m)) {
		e.key(k)
		cc := m[k]
		e.open('{')
		e.strField("schemaType", cc.SchemaType)
		if cc.RegexPattern {
			e.boolField("regexPattern", true)
		}
		e.close('}')
	}
	e.close('}')
}

// value writes what a user config may hold; what it does not know goes
// through encoding/json.
func (e *fileEncoder) value(v any) {
	switch v := v.(type) {
	case nil:
		e.b = append(e.b, "null"...)
	case string:
		e.str(v)
	case bool:
		e.b = strconv.AppendBool(e.b, v)
	case int:
		e.b = strconv.AppendInt(e.b, int64(v), 10)
	case int64:
		e.b = strconv.AppendInt(e.b, v, 10)
	case map[string]any:
		e.anyMap(v)
	case []any:
		if v == nil {
			e.b = append(e.b, "null"...)
			return
		}
		e.open('[')
		for _, x := range v {
			e.item()
			e.value(x)
		}
		e.close(']')
	default:
		e.reflected(v)
	}
}

func (e *fileEncoder) anyMap(m map[string]any) {
	if m == nil {
		e.b = append(e.b, "null"...)
		return
	}
	e.open('{')
	for _, k := range slices.Sorted(maps.Keys(m)) {
		e.key(k)
		e.value(m[k])
	}
	e.close('}')
}

// reflected writes v with encoding/json, indented where it stands.
func (e *fileEncoder) reflected(v any) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		e.fail(err)
		return
	}
	var out bytes.Buffer
	if err := json.Indent(&out, bytes.TrimSuffix(b.Bytes(), []byte("\n")), e.indent(), "  "); err != nil {
		e.fail(err)
		return
	}
	e.b = append(e.b, out.Bytes()...)
}

func (e *fileEncoder) indent() string {
	return string(bytes.Repeat([]byte("  "), e.depth))
}

func (e *fileEncoder) fail(err error) {
	if e.err == nil {
		e.err = err
	}
}

func (e *fileEncoder) strField(name, s string) {
	if s != "" {
		e.key(name)
		e.str(s)
	}
}

func (e *fileEncoder) optStr(name string, s *string) {
	if s != nil {
		e.key(name)
		e.str(*s)
	}
}

func (e *fileEncoder) boolField(name string, v bool) {
	e.key(name)
	e.b = strconv.AppendBool(e.b, v)
}

// open, close, key and item lay out objects and arrays as encoding/json's
// Indent does: an empty one stays on its line.
func (e *fileEncoder) open(c byte) {
	e.b = append(e.b, c)
	e.depth++
}

func (e *fileEncoder) close(c byte) {
	e.depth--
	if last := e.b[len(e.b)-1]; last != '{' && last != '[' {
		e.newline()
	}
	e.b = append(e.b, c)
}

func (e *fileEncoder) key(name string) {
	e.item()
	e.str(name)
	e.b = append(e.b, ':', ' ')
}

func (e *fileEncoder) item() {
	if last := e.b[len(e.b)-1]; last != '{' && last != '[' {
		e.b = append(e.b, ',')
	}
	e.newline()
}

func (e *fileEncoder) newline() {
	e.b = append(e.b, '\n')
	for range e.depth {
		e.b = append(e.b, ' ', ' ')
	}
}

// str writes s quoted; what needs escaping goes through encoding/json,
// which knows its rules (no HTML escaping, U+2028 and U+2029, invalid
// UTF-8).
func (e *fileEncoder) str(s string) {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == '"' || c == '\\' || c >= 0x80 {
			e.reflected(s)
			return
		}
	}
	e.b = append(e.b, '"')
	e.b = append(e.b, s...)
	e.b = append(e.b, '"')
}
