package plan

import (
	"encoding/base64"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"time"

	"github.com/meshc/meshc/internal/jsontext"
)

// Encode writes a plan as indented JSON ending in a newline: stable bytes
// for files that are committed and diffed, with < > & left as they are.
// The bytes are encoding/json's (two-space indent, no HTML escaping),
// written field by field into one buffer sized from the first elements:
// reflection and the re-indenting pass took most of the time of a large
// plan, and growing the buffer step by step most of the rest.
func Encode(p *Plan) ([]byte, error) {
	e := &encoder{Writer: jsontext.Writer{Memo: &jsontext.Memo{}}}
	e.plan(p)
	if e.err != nil {
		return nil, e.err
	}
	return e.B, nil
}

// WriteTo writes the plan as Encode encodes it, a component at a time, so
// that the whole text is never held at once.
func WriteTo(w io.Writer, p *Plan) error {
	e := &encoder{Writer: jsontext.Writer{Memo: &jsontext.Memo{}}, w: w}
	e.plan(p)
	if e.err == nil {
		e.flush(0)
	}
	return e.err
}

// AppendCompact appends c as encoding/json's Marshal writes it: compact,
// with < > & escaped. Hashes of components are taken over these bytes.
func AppendCompact(dst []byte, c *Component) ([]byte, error) {
	e := &encoder{Writer: jsontext.Writer{B: dst, Compact: true, EscapeHTML: true}}
	e.component(c)
	return e.B, e.err
}

// AppendInstance appends in as encoding/json's MarshalIndent(in, "", "  ")
// writes it, with < > & escaped when html is set: an instance plan as
// backends write it into jobs and manifests, without reflection.
func AppendInstance(dst []byte, in *Instance, html bool) ([]byte, error) {
	return appendInstance(dst, in, html, nil)
}

// InstanceEncoder appends instance plans as AppendInstance does, keeping
// the text of the long strings that many plans hold alike (schemas'
// definitions) from one plan to the next. Its zero value is ready; it is
// not for use by several goroutines at once.
type InstanceEncoder struct{ memo jsontext.Memo }

// Append appends in as AppendInstance does.
func (ie *InstanceEncoder) Append(dst []byte, in *Instance, html bool) ([]byte, error) {
	return appendInstance(dst, in, html, &ie.memo)
}

func appendInstance(dst []byte, in *Instance, html bool, memo *jsontext.Memo) ([]byte, error) {
	e := &encoder{Writer: jsontext.Writer{B: dst, EscapeHTML: html, Memo: memo}}
	e.Open('{')
	e.Field("apiVersion")
	e.String(in.APIVersion)
	e.Field("mesh")
	e.mesh(&in.Mesh)
	e.Field("component")
	e.component(&in.Component)
	e.Field("index")
	e.int(int64(in.Index))
	e.Close('}')
	return e.B, e.err
}

// encoder writes a plan's types as JSON text, field by field.
type encoder struct {
	jsontext.Writer
	err error  // the first value that would not encode
	in  string // the component being written, for errors
	// w, when set, takes the text every so many bytes instead of it all
	// being kept.
	w io.Writer
}

// flushSize is how much text a streaming encoder keeps before writing it.
const flushSize = 64 << 10

func (e *encoder) plan(p *Plan) {
	e.Open('{')
	e.Field("apiVersion")
	e.String(p.APIVersion)
	e.Field("mesh")
	e.mesh(&p.Mesh)
	if len(p.Params) > 0 {
		e.Field("params")
		e.stringMap(p.Params)
	}
	e.Field("topics")
	list(e, p.Topics, (*encoder).topic)
	e.Field("components")
	list(e, p.Components, (*encoder).component)
	e.Close('}')
	e.B = append(e.B, '\n')
}

// list writes a list an element at a time; nil is null, as encoding/json
// writes it. The buffer grows for the rest of the list at once, by the
// average size of the elements so far and a little more, so that it is
// neither copied at every doubling nor much larger than the text.
func list[T any](e *encoder, l []T, elem func(*encoder, *T)) {
	if l == nil {
		e.B = append(e.B, "null"...)
		return
	}
	const sample = 8 // elements written before the first estimate
	e.Open('[')
	start := len(e.B)
	for i := range l {
		e.Item()
		elem(e, &l[i])
		if e.err != nil {
			return
		}
		if e.w != nil {
			if len(e.B) >= flushSize {
				e.flush(flushSize)
			}
			continue
		}
		if avg := (len(e.B) - start) / (i + 1); i >= sample-1 && cap(e.B)-len(e.B) < 2*avg {
			rest := len(l) - i - 1
			e.B = slices.Grow(e.B, avg*rest+avg*rest/16+4*avg)
		}
	}
	e.Close(']')
}

// flush writes out the text when it has at least min bytes.
func (e *encoder) flush(min int) {
	if e.err != nil || len(e.B) < min {
		return
	}
	// The last byte stays: the next field looks at it for its comma.
	keep := len(e.B) - 1
	if min == 0 {
		keep = len(e.B)
	}
	if _, err := e.w.Write(e.B[:keep]); err != nil {
		e.err = fmt.Errorf("writing the plan: %w", err)
	}
	e.B = append(e.B[:0], e.B[keep:]...)
}

func (e *encoder) mesh(m *Mesh) {
	e.Open('{')
	e.Field("name")
	e.String(m.Name)
	e.Field("tenant")
	e.String(m.Tenant)
	e.Field("namespace")
	e.String(m.Namespace)
	e.optStr("source", m.Source)
	if m.Pulsar != nil {
		e.Field("pulsar")
		e.pulsar(m.Pulsar)
	}
	e.Close('}')
}

func (e *encoder) pulsar(p *Pulsar) {
	e.Open('{')
	e.optStr("url", p.URL)
	e.optStr("adminURL", p.AdminURL)
	e.optSecret("trustCerts", p.TrustCerts)
	e.optBool("skipHostnameVerification", p.SkipHostnameVerification)
	e.optSecret("token", p.Token)
	if o := p.OAuth2; o != nil {
		e.Field("oauth2")
		e.Open('{')
		e.Field("issuerURL")
		e.String(o.IssuerURL)
		e.optStr("audience", o.Audience)
		e.optStr("scope", o.Scope)
		e.Field("credentials")
		e.secret(&o.Credentials)
		e.Close('}')
	}
	if c := p.ClientCert; c != nil {
		e.Field("clientCert")
		e.Open('{')
		e.Field("cert")
		e.secret(&c.Cert)
		e.Field("key")
		e.secret(&c.Key)
		e.Close('}')
	}
	e.Close('}')
}

func (e *encoder) topic(t *Topic) {
	e.Open('{')
	e.Field("name")
	e.String(t.Name)
	e.Field("fqn")
	e.String(t.FQN)
	e.Field("schema")
	e.schema(&t.Schema)
	e.optInt("partitions", int64(t.Partitions))
	e.optBool("external", t.External)
	e.optStr("pattern", t.Pattern)
	e.Close('}')
}

func (e *encoder) schema(s *Schema) {
	e.Open('{')
	e.Field("type")
	e.String(s.Type)
	e.optStr("definition", s.Definition)
	e.optStr("file", s.File)
	e.optStr("message", s.Message)
	if len(s.Descriptor) > 0 {
		e.Field("descriptor")
		e.B = append(e.B, '"')
		e.B = base64.StdEncoding.AppendEncode(e.B, s.Descriptor)
		e.B = append(e.B, '"')
	}
	e.Close('}')
}

func (e *encoder) component(c *Component) {
	e.in = c.Name
	e.Open('{')
	e.Field("kind")
	e.String(string(c.Kind))
	e.Field("name")
	e.String(c.Name)
	e.Field("fqfn")
	e.String(c.FQFN)
	e.Field("hash")
	e.String(c.Hash)
	e.Field("implementation")
	e.implementation(&c.Implementation)
	if len(c.Inputs) > 0 {
		e.Field("inputs")
		e.Open('[')
		for i := range c.Inputs {
			e.Item()
			e.input(&c.Inputs[i])
		}
		e.Close(']')
	}
	if c.Output != nil {
		e.Field("output")
		e.output(c.Output)
	}
	if len(c.Publishes) > 0 {
		e.Field("publishes")
		e.Open('[')
		for i := range c.Publishes {
			e.Item()
			e.output(&c.Publishes[i])
		}
		e.Close(']')
	}
	e.optStr("logTopic", c.LogTopic)
	e.optStr("deadLetterTopic", c.DeadLetterTopic)
	if c.Subscription != (Subscription{}) {
		e.Field("subscription")
		e.Open('{')
		e.optStr("name", c.Subscription.Name)
		e.optStr("type", c.Subscription.Type)
		e.optStr("position", c.Subscription.Position)
		e.Close('}')
	}
	e.optStr("guarantee", string(c.Guarantee))
	e.Field("replicas")
	e.Open('{')
	e.Field("count")
	e.int(int64(c.Replicas.Count))
	e.optInt("min", int64(c.Replicas.Min))
	e.optInt("max", int64(c.Replicas.Max))
	e.Close('}')
	if c.Resources != (Resources{}) {
		e.Field("resources")
		e.Open('{')
		if c.Resources.CPU != 0 {
			e.Field("cpu")
			e.float(c.Resources.CPU)
		}
		e.optInt("memory", c.Resources.Memory)
		e.Close('}')
	}
	if c.Timeout != 0 {
		e.Field("timeout")
		e.duration(c.Timeout)
	}
	e.optInt("maxRetries", int64(c.MaxRetries))
	e.optBool("retainOrdering", c.RetainOrdering)
	e.optBool("state", c.State)
	if len(c.Config) > 0 {
		e.Field("config")
		e.Open('{')
		for _, kv := range c.Config {
			e.Key(kv.Key)
			if err := e.Any(kv.Value); err != nil {
				e.fail(err)
			}
		}
		e.Close('}')
	}
	if len(c.Secrets) > 0 {
		e.Field("secrets")
		e.Open('{')
		for _, k := range slices.Sorted(maps.Keys(c.Secrets)) {
			e.Key(k)
			s := c.Secrets[k]
			e.secret(&s)
		}
		e.Close('}')
	}
	if s := c.Sandbox; s != nil {
		e.Field("sandbox")
		e.Open('{')
		e.Field("memory")
		e.int(s.Memory)
		e.Field("time")
		e.duration(s.Time)
		e.optStrings("dirs", s.Dirs)
		e.Close('}')
	}
	e.Field("runtime")
	e.Open('{')
	e.optStr("binary", c.Runtime.Binary)
	e.optStr("image", c.Runtime.Image)
	e.optStrings("args", c.Runtime.Args)
	e.Close('}')
	e.Close('}')
}

func (e *encoder) implementation(im *Implementation) {
	e.Open('{')
	e.Field("kind")
	e.String(im.Kind)
	e.optStr("name", im.Name)
	e.optStrings("command", im.Command)
	e.optStr("module", im.Module)
	e.Close('}')
}

func (e *encoder) input(in *Input) {
	e.Open('{')
	e.Field("topic")
	e.String(in.Topic)
	e.optBool("pattern", in.Pattern)
	e.Field("schema")
	e.schema(&in.Schema)
	e.Close('}')
}

func (e *encoder) output(o *Output) {
	e.Open('{')
	e.Field("topic")
	e.String(o.Topic)
	e.Field("schema")
	e.schema(&o.Schema)
	e.Close('}')
}

func (e *encoder) secret(s *Secret) {
	e.Open('{')
	e.Field("path")
	e.String(s.Path)
	e.Field("key")
	e.String(s.Key)
	e.Close('}')
}

// The opt helpers write a field only when it is set. Their names are
// literals of plain ASCII, as Field wants.

func (e *encoder) optSecret(name string, s *Secret) {
	if s != nil {
		e.Field(name)
		e.secret(s)
	}
}

func (e *encoder) optStr(name, s string) {
	if s != "" {
		e.Field(name)
		e.String(s)
	}
}

func (e *encoder) optInt(name string, n int64) {
	if n != 0 {
		e.Field(name)
		e.int(n)
	}
}

func (e *encoder) optBool(name string, v bool) {
	if v {
		e.Field(name)
		e.B = append(e.B, "true"...)
	}
}

func (e *encoder) optStrings(name string, l []string) {
	if len(l) == 0 {
		return
	}
	e.Field(name)
	e.Open('[')
	for _, s := range l {
		e.Item()
		e.String(s)
	}
	e.Close(']')
}

func (e *encoder) stringMap(m map[string]string) {
	e.Open('{')
	for _, k := range slices.Sorted(maps.Keys(m)) {
		e.Key(k)
		e.String(m[k])
	}
	e.Close('}')
}

// fail keeps the first error; the encoding stops at the end of the
// element it is in.
func (e *encoder) fail(err error) {
	if e.err == nil {
		e.err = fmt.Errorf("encoding the plan's component %s: %w", e.in, err)
	}
}

func (e *encoder) int(n int64) { e.B = strconv.AppendInt(e.B, n, 10) }

func (e *encoder) float(f float64) {
	var err error
	if e.B, err = jsontext.AppendFloat(e.B, f); err != nil {
		e.fail(err)
	}
}

func (e *encoder) duration(d Duration) {
	e.B = append(e.B, '"')
	e.B = append(e.B, time.Duration(d).String()...)
	e.B = append(e.B, '"')
}
