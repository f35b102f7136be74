package plan

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"
)

// Encode writes a plan as indented JSON ending in a newline: stable bytes
// for files that are committed and diffed, with < > & left as they are.
// The bytes are encoding/json's (two-space indent, no HTML escaping),
// written field by field into one buffer sized from the first elements:
// reflection and the re-indenting pass took most of the time of a large
// plan, and growing the buffer step by step most of the rest.
func Encode(p *Plan) ([]byte, error) {
	e := &encoder{}
	e.plan(p)
	if e.err != nil {
		return nil, e.err
	}
	return e.b, nil
}

// WriteTo writes the plan as Encode encodes it, a component at a time, so
// that the whole text is never held at once.
func WriteTo(w io.Writer, p *Plan) error {
	e := &encoder{w: w}
	e.plan(p)
	if e.err == nil {
		e.flush(0)
	}
	return e.err
}

// AppendCompact appends c as encoding/json's Marshal writes it: compact,
// with < > & escaped. Hashes of components are taken over these bytes.
func AppendCompact(dst []byte, c *Component) ([]byte, error) {
	e := &encoder{b: dst, compact: true, html: true}
	e.component(c)
	return e.b, e.err
}

// AppendInstance appends in as encoding/json's MarshalIndent(in, "", "  ")
// writes it, with < > & escaped when html is set: an instance plan as
// backends write it into jobs and manifests, without reflection.
func AppendInstance(dst []byte, in *Instance, html bool) ([]byte, error) {
	e := &encoder{b: dst, html: html}
	e.open('{')
	e.key("apiVersion")
	e.str(in.APIVersion)
	e.key("mesh")
	e.mesh(&in.Mesh)
	e.key("component")
	e.component(&in.Component)
	e.key("index")
	e.int(int64(in.Index))
	e.close('}')
	return e.b, e.err
}

// encoder appends JSON to b. An object or array it opens is empty for as
// long as the last byte is its opening bracket, which is how fields know
// whether a comma goes before them.
type encoder struct {
	b     []byte
	depth int    // nesting level, two spaces each
	err   error  // the first value that would not encode
	in    string // the component being written, for errors
	// w, when set, takes the text every so many bytes instead of it all
	// being kept.
	w io.Writer
	// compact writes no line breaks or indents; html escapes < > & as
	// encoding/json's Marshal does.
	compact, html bool
}

// flushSize is how much text a streaming encoder keeps before writing it.
const flushSize = 64 << 10

func (e *encoder) plan(p *Plan) {
	e.open('{')
	e.key("apiVersion")
	e.str(p.APIVersion)
	e.key("mesh")
	e.mesh(&p.Mesh)
	if len(p.Params) > 0 {
		e.key("params")
		e.stringMap(p.Params)
	}
	e.key("topics")
	list(e, p.Topics, (*encoder).topic)
	e.key("components")
	list(e, p.Components, (*encoder).component)
	e.close('}')
	e.b = append(e.b, '\n')
}

// list writes a list an element at a time; nil is null, as encoding/json
// writes it. The buffer grows for the rest of the list at once, by the
// average size of the elements so far and a little more, so that it is
// neither copied at every doubling nor much larger than the text.
func list[T any](e *encoder, l []T, elem func(*encoder, *T)) {
	if l == nil {
		e.b = append(e.b, "null"...)
		return
	}
	const sample = 8 // elements written before the first estimate
	e.open('[')
	start := len(e.b)
	for i := range l {
		e.item()
		elem(e, &l[i])
		if e.err != nil {
			return
		}
		if e.w != nil {
			if len(e.b) >= flushSize {
				e.flush(flushSize)
			}
			continue
		}
		if avg := (len(e.b) - start) / (i + 1); i >= sample-1 && cap(e.b)-len(e.b) < 2*avg {
			rest := len(l) - i - 1
			e.b = slices.Grow(e.b, avg*rest+avg*rest/16+4*avg)
		}
	}
	e.close(']')
}

// flush writes out the text when it has at least min bytes.
func (e *encoder) flush(min int) {
	if e.err != nil || len(e.b) < min {
		return
	}
	// The last byte stays: the next field looks at it for its comma.
	keep := len(e.b) - 1
	if min == 0 {
		keep = len(e.b)
	}
	if _, err := e.w.Write(e.b[:keep]); err != nil {
		e.err = fmt.Errorf("writing the plan: %w", err)
	}
	e.b = append(e.b[:0], e.b[keep:]...)
}

func (e *encoder) mesh(m *Mesh) {
	e.open('{')
	e.key("name")
	e.str(m.Name)
	e.key("tenant")
	e.str(m.Tenant)
	e.key("namespace")
	e.str(m.Namespace)
	e.optStr("source", m.Source)
	if m.Pulsar != nil {
		e.key("pulsar")
		e.pulsar(m.Pulsar)
	}
	e.close('}')
}

func (e *encoder) pulsar(p *Pulsar) {
	e.open('{')
	e.optStr("url", p.URL)
	e.optStr("adminURL", p.AdminURL)
	e.optSecret("trustCerts", p.TrustCerts)
	e.optBool("skipHostnameVerification", p.SkipHostnameVerification)
	e.optSecret("token", p.Token)
	if o := p.OAuth2; o != nil {
		e.key("oauth2")
		e.open('{')
		e.key("issuerURL")
		e.str(o.IssuerURL)
		e.optStr("audience", o.Audience)
		e.optStr("scope", o.Scope)
		e.key("credentials")
		e.secret(&o.Credentials)
		e.close('}')
	}
	if c := p.ClientCert; c != nil {
		e.key("clientCert")
		e.open('{')
		e.key("cert")
		e.secret(&c.Cert)
		e.key("key")
		e.secret(&c.Key)
		e.close('}')
	}
	e.close('}')
}

func (e *encoder) topic(t *Topic) {
	e.open('{')
	e.key("name")
	e.str(t.Name)
	e.key("fqn")
	e.str(t.FQN)
	e.key("schema")
	e.schema(&t.Schema)
	e.optInt("partitions", int64(t.Partitions))
	e.optBool("external", t.External)
	e.optStr("pattern", t.Pattern)
	e.close('}')
}

func (e *encoder) schema(s *Schema) {
	e.open('{')
	e.key("type")
	e.str(s.Type)
	e.optStr("definition", s.Definition)
	e.optStr("file", s.File)
	e.optStr("message", s.Message)
	if len(s.Descriptor) > 0 {
		e.key("descriptor")
		e.b = append(e.b, '"')
		e.b = base64.StdEncoding.AppendEncode(e.b, s.Descriptor)
		e.b = append(e.b, '"')
	}
	e.close('}')
}

func (e *encoder) component(c *Component) {
	e.in = c.Name
	e.open('{')
	e.key("kind")
	e.str(string(c.Kind))
	e.key("name")
	e.str(c.Name)
	e.key("fqfn")
	e.str(c.FQFN)
	e.key("hash")
	e.str(c.Hash)
	e.key("implementation")
	e.implementation(&c.Implementation)
	if len(c.Inputs) > 0 {
		e.key("inputs")
		e.open('[')
		for i := range c.Inputs {
			e.item()
			e.input(&c.Inputs[i])
		}
		e.close(']')
	}
	if c.Output != nil {
		e.key("output")
		e.output(c.Output)
	}
	if len(c.Publishes) > 0 {
		e.key("publishes")
		e.open('[')
		for i := range c.Publishes {
			e.item()
			e.output(&c.Publishes[i])
		}
		e.close(']')
	}
	e.optStr("logTopic", c.LogTopic)
	e.optStr("deadLetterTopic", c.DeadLetterTopic)
	if c.Subscription != (Subscription{}) {
		e.key("subscription")
		e.open('{')
		e.optStr("name", c.Subscription.Name)
		e.optStr("type", c.Subscription.Type)
		e.optStr("position", c.Subscription.Position)
		e.close('}')
	}
	e.optStr("guarantee", string(c.Guarantee))
	e.key("replicas")
	e.open('{')
	e.key("count")
	e.int(int64(c.Replicas.Count))
	e.optInt("min", int64(c.Replicas.Min))
	e.optInt("max", int64(c.Replicas.Max))
	e.close('}')
	if c.Resources != (Resources{}) {
		e.key("resources")
		e.open('{')
		if c.Resources.CPU != 0 {
			e.key("cpu")
			e.float(c.Resources.CPU)
		}
		e.optInt("memory", c.Resources.Memory)
		e.close('}')
	}
	if c.Timeout != 0 {
		e.key("timeout")
		e.duration(c.Timeout)
	}
	e.optInt("maxRetries", int64(c.MaxRetries))
	e.optBool("retainOrdering", c.RetainOrdering)
	e.optBool("state", c.State)
	if len(c.Config) > 0 {
		e.key("config")
		e.anyMap(c.Config)
	}
	if len(c.Secrets) > 0 {
		e.key("secrets")
		e.open('{')
		for _, k := range sortedKeys(c.Secrets) {
			e.key(k)
			s := c.Secrets[k]
			e.secret(&s)
		}
		e.close('}')
	}
	if s := c.Sandbox; s != nil {
		e.key("sandbox")
		e.open('{')
		e.key("memory")
		e.int(s.Memory)
		e.key("time")
		e.duration(s.Time)
		e.optStrings("dirs", s.Dirs)
		e.close('}')
	}
	e.key("runtime")
	e.open('{')
	e.optStr("binary", c.Runtime.Binary)
	e.optStr("image", c.Runtime.Image)
	e.optStrings("args", c.Runtime.Args)
	e.close('}')
	e.close('}')
}

func (e *encoder) implementation(im *Implementation) {
	e.open('{')
	e.key("kind")
	e.str(im.Kind)
	e.optStr("name", im.Name)
	e.optStrings("command", im.Command)
	e.optStr("module", im.Module)
	e.close('}')
}

func (e *encoder) input(in *Input) {
	e.open('{')
	e.key("topic")
	e.str(in.Topic)
	e.optBool("pattern", in.Pattern)
	e.key("schema")
	e.schema(&in.Schema)
	e.close('}')
}

func (e *encoder) output(o *Output) {
	e.open('{')
	e.key("topic")
	e.str(o.Topic)
	e.key("schema")
	e.schema(&o.Schema)
	e.close('}')
}

func (e *encoder) secret(s *Secret) {
	e.open('{')
	e.key("path")
	e.str(s.Path)
	e.key("key")
	e.str(s.Key)
	e.close('}')
}

func (e *encoder) optSecret(name string, s *Secret) {
	if s != nil {
		e.key(name)
		e.secret(s)
	}
}

func (e *encoder) optStr(name, s string) {
	if s != "" {
		e.key(name)
		e.str(s)
	}
}

func (e *encoder) optInt(name string, n int64) {
	if n != 0 {
		e.key(name)
		e.int(n)
	}
}

func (e *encoder) optBool(name string, v bool) {
	if v {
		e.key(name)
		e.b = append(e.b, "true"...)
	}
}

func (e *encoder) optStrings(name string, l []string) {
	if len(l) == 0 {
		return
	}
	e.key(name)
	e.open('[')
	for _, s := range l {
		e.item()
		e.str(s)
	}
	e.close(']')
}

func (e *encoder) stringMap(m map[string]string) {
	e.open('{')
	for _, k := range sortedKeys(m) {
		e.key(k)
		e.str(m[k])
	}
	e.close('}')
}

// anyMap and anyValue write what a mesh's config holds: JSON values as
// the compiler makes them or a decoded plan holds them. Anything else is
// left to encoding/json.
func (e *encoder) anyMap(m map[string]any) {
	e.open('{')
	for _, k := range sortedKeys(m) {
		e.key(k)
		e.anyValue(m[k])
	}
	e.close('}')
}

func (e *encoder) anyValue(v any) {
	switch v := v.(type) {
	case nil:
		e.b = append(e.b, "null"...)
	case string:
		e.str(v)
	case bool:
		e.b = strconv.AppendBool(e.b, v)
	case int64:
		e.int(v)
	case int:
		e.int(int64(v))
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
			e.anyValue(x)
		}
		e.close(']')
	default:
		e.reflected(v)
	}
}

// reflected writes v with encoding/json, indented to the current depth.
func (e *encoder) reflected(v any) {
	var b []byte
	w := appender{&b}
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(e.html)
	if !e.compact {
		enc.SetIndent(e.indentString(), "  ")
	}
	if err := enc.Encode(v); err != nil {
		e.fail(err)
		return
	}
	e.b = append(e.b, b[:len(b)-1]...) // Encode's newline
}

// appender is an io.Writer onto a byte slice.
type appender struct{ b *[]byte }

func (a appender) Write(p []byte) (int, error) { *a.b = append(*a.b, p...); return len(p), nil }

func (e *encoder) indentString() string {
	b := make([]byte, 2*e.depth)
	for i := range b {
		b[i] = ' '
	}
	return string(b)
}

// fail keeps the first error; the encoding stops at the end of the
// element it is in.
func (e *encoder) fail(err error) {
	if e.err == nil {
		e.err = fmt.Errorf("encoding the plan's component %s: %w", e.in, err)
	}
}

func (e *encoder) open(c byte) {
	e.b = append(e.b, c)
	e.depth++
}

func (e *encoder) close(c byte) {
	e.depth--
	if last := e.b[len(e.b)-1]; last != '{' && last != '[' {
		e.newline()
	}
	e.b = append(e.b, c)
}

// key starts a field of the object being written.
func (e *encoder) key(name string) {
	e.item()
	e.str(name)
	e.b = append(e.b, ':')
	if !e.compact {
		e.b = append(e.b, ' ')
	}
}

// item starts an element of the list or object being written.
func (e *encoder) item() {
	if last := e.b[len(e.b)-1]; last != '{' && last != '[' {
		e.b = append(e.b, ',')
	}
	e.newline()
}

const spaces = "                                                                "

func (e *encoder) newline() {
	if e.compact {
		return
	}
	e.b = append(e.b, '\n')
	for n := 2 * e.depth; n > 0; n -= len(spaces) {
		e.b = append(e.b, spaces[:min(n, len(spaces))]...)
	}
}

func (e *encoder) int(n int64) { e.b = strconv.AppendInt(e.b, n, 10) }

// float writes f as encoding/json does: the shortest form that reads back
// exactly, in exponent form only for very small and very large values.
func (e *encoder) float(f float64) {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		_, err := json.Marshal(f)
		e.fail(err)
		return
	}
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	e.b = strconv.AppendFloat(e.b, f, format, -1, 64)
	if format == 'e' {
		// e-09 reads as e-9 in JSON text, as encoding/json writes it.
		if n := len(e.b); n >= 4 && e.b[n-4] == 'e' && e.b[n-3] == '-' && e.b[n-2] == '0' {
			e.b[n-2] = e.b[n-1]
			e.b = e.b[:n-1]
		}
	}
}

func (e *encoder) duration(d Duration) {
	e.b = append(e.b, '"')
	e.b = append(e.b, time.Duration(d).String()...)
	e.b = append(e.b, '"')
}

// str writes s as a JSON string, escaped as encoding/json escapes it:
// quotes, backslashes and control characters, invalid UTF-8 as U+FFFD,
// U+2028 and U+2029, which JavaScript reads as line ends, and < > & when
// html is set.
func (e *encoder) str(s string) {
	safe := &plainSafe
	if e.html {
		safe = &htmlSafe
	}
	b := append(e.b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if safe[c] {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	b = append(b, s[start:]...)
	e.b = append(b, '"')
}

const hexDigits = "0123456789abcdef"

// plainSafe and htmlSafe say which ASCII bytes a string holds as they are.
var plainSafe, htmlSafe = func() (plain, html [utf8.RuneSelf]bool) {
	for c := ' '; c < utf8.RuneSelf; c++ {
		plain[c] = c != '"' && c != '\\'
		html[c] = plain[c] && c != '<' && c != '>' && c != '&'
	}
	return plain, html
}()

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
