package pulsarworker

import (
	"bytes"
	"encoding/json"
	"maps"
	"math"
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
	b     []byte
	depth int
	err   error
	// keys holds slices of map keys for reuse, one taken per map being
	// written.
	keys [][]string
}

// sortedKeys is m's keys in order, in a slice of the encoder's, which
// release gives back.
func sortedKeys[V any](e *fileEncoder, m map[string]V) []string {
	var k []string
	if n := len(e.keys); n > 0 {
		k, e.keys = e.keys[n-1][:0], e.keys[:n-1]
	}
	k = slices.AppendSeq(k, maps.Keys(m))
	slices.Sort(k)
	return k
}

func (e *fileEncoder) release(k []string) { e.keys = append(e.keys, k) }

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
		e.float(r.CPU)
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
	keys := sortedKeys(e, uc)
	defer e.release(keys)
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
// userConfig): each line after the first moves right by four spaces, in
// place, from the end.
func (e *fileEncoder) instance(in *plan.Instance) {
	const indent = "    "
	start := len(e.b)
	var err error
	if e.b, err = plan.AppendInstance(e.b, in, true); err != nil {
		e.fail(err)
		return
	}
	// A line break in JSON text is only ever between values: in strings it
	// is escaped.
	src := e.b[start:]
	shift := len(indent) * bytes.Count(src, []byte{'\n'})
	e.b = slices.Grow(e.b, shift)[:len(e.b)+shift]
	end := len(e.b)
	for {
		i := bytes.LastIndexByte(src, '\n')
		if i < 0 {
			break
		}
		n := copy(e.b[end-(len(src)-i-1):end], src[i+1:])
		end -= n + len(indent)
		copy(e.b[end:], indent)
		src = src[:i]
		end--
		e.b[end] = '\n'
	}
}

func (e *fileEncoder) inputSpecs(m map[string]utils.ConsumerConfig) {
	keys := sortedKeys(e, m)
	defer e.release(keys)
	e.open('{')
	for _, k := range keys {
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
	case float64:
		e.float(v)
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
	keys := sortedKeys(e, m)
	defer e.release(keys)
	e.open('{')
	for _, k := range keys {
		e.key(k)
		e.value(m[k])
	}
	e.close('}')
}

// float writes f as encoding/json does: like ES6, without exponent
// between 1e-6 and 1e21, and an exponent of at least one digit.
func (e *fileEncoder) float(f float64) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		e.reflected(f) // which says why it cannot
		return
	}
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	e.b = strconv.AppendFloat(e.b, f, format, -1, 64)
	if n := len(e.b); format == 'e' && n >= 4 && e.b[n-4] == 'e' && e.b[n-3] == '-' && e.b[n-2] == '0' {
		e.b[n-2] = e.b[n-1]
		e.b = e.b[:n-1]
	}
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
