package meshtest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/meshc/meshc/lang"
	"github.com/meshc/meshc/planner/plan"
	"github.com/meshc/meshc/runtime/codec"
)

// value turns a value of the test file into Go's: text, numbers, booleans,
// lists and records (objects).
func (tc *topicCheck) value(v *lang.Value) (any, bool) {
	switch {
	case v.Lit() == lang.StringLit:
		s, err := lang.Unquote(v.Text())
		if err != nil {
			tc.errorf(v.Span, "%v", err)
			return nil, false
		}
		return s, true
	case v.Lit() == lang.IntLit:
		n, ok := intValue(v)
		if !ok {
			tc.errorf(v.Span, "integer %s does not fit 64 bits", v.Text())
		}
		return n, ok
	case v.Lit() == lang.FloatLit:
		f, err := strconv.ParseFloat(v.Text(), 64)
		if err != nil {
			tc.errorf(v.Span, "number %s: %v", v.Text(), err)
			return nil, false
		}
		return f, true
	case v.Lit() == lang.BoolLit:
		return v.Text() == "true", true
	case v.Lit() == lang.DurationLit, v.Lit() == lang.SizeLit:
		return v.Text(), true
	case v.List() != nil:
		list := []any{}
		ok := true
		for _, item := range v.List().Items {
			x, good := tc.value(item)
			list, ok = append(list, x), ok && good
		}
		return list, ok
	case v.Object() != nil:
		rec := map[string]any{}
		ok := true
		for _, a := range v.Object().Attrs {
			x, good := tc.value(a.Value())
			rec[a.Key().Name], ok = x, ok && good
		}
		return rec, ok
	}
	tc.errorf(v.Span, "a name is no value here").WithHint("write text in quotes, a number, true or false, a list or a record { field = value }")
	return nil, false
}

func intValue(v *lang.Value) (int64, bool) {
	if v.Lit() != lang.IntLit {
		return 0, false
	}
	n, err := strconv.ParseInt(strings.ReplaceAll(v.Text(), "_", ""), 0, 64)
	return n, err == nil
}

// eventTime reads an RFC 3339 time; the zero time on error.
func (tc *topicCheck) eventTime(v *lang.Value) time.Time {
	s, ok := tc.text(v, "event_time")
	if !ok {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil || t.IsZero() {
		tc.errorf(v.Span, "event_time: want a time as RFC 3339 writes it, such as \"2026-01-02T03:04:05Z\"")
		return time.Time{}
	}
	return t
}

// encode checks that a message to send fits its topic's schema and keeps
// its payload in Value.
func (tc *topicCheck) encode(m *Message, t plan.Topic) {
	c, err := codec.New(t.Schema)
	if err != nil {
		tc.errorf(m.Span, "topic %s: %v", t.Name, err)
		return
	}
	payload, err := encode(c, m.Value)
	if err != nil {
		tc.errorf(m.Span, "this value does not fit topic %s (%s): %v", t.Name, schemaText(t.Schema), err).WithHint(
			"topic %s takes %s values%s", t.Name, schemaText(t.Schema), recordHint(t.Schema))
		return
	}
	m.Value = payload
}

// encode is the payload of v: JSON is checked as the mesh's readers
// check it, so that the error says what does not fit.
func encode(c *codec.Codec, v any) ([]byte, error) {
	if c.Schema().Type != "json" {
		return c.Encode(v)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	if _, err := c.Decode(b); err != nil {
		return nil, err
	}
	return b, nil
}

// normalize brings an expected value to the form the topic's codec decodes
// payloads into, so that both compare alike: records keep only the fields
// they name.
func (tc *topicCheck) normalize(m *Message, t plan.Topic) {
	if m.Value == nil {
		return
	}
	rec, isRecord := m.Value.(map[string]any)
	if t.Schema.Type == "json" || (isRecord && (t.Schema.Type == "avro" || t.Schema.Type == "protobuf")) {
		// A record may name only some fields, so it is compared as the
		// JSON the codec decodes records into, not encoded whole.
		if isRecord {
			tc.checkFields(m, rec, t)
		}
		b, err := json.Marshal(m.Value)
		if err == nil {
			dec := json.NewDecoder(bytes.NewReader(b))
			dec.UseNumber()
			err = dec.Decode(&m.Value)
		}
		if err != nil {
			tc.errorf(m.Span, "this value is no JSON: %v", err)
		}
		return
	}
	c, err := codec.New(t.Schema)
	if err == nil {
		var payload []byte
		if payload, err = c.Encode(m.Value); err == nil {
			m.Value, err = c.Decode(payload)
		}
	}
	if err != nil {
		tc.errorf(m.Span, "this value does not fit topic %s (%s): %v", t.Name, schemaText(t.Schema), err)
	}
}

// checkFields refuses an expected record naming a field its topic's
// record does not have: it could never match.
func (tc *topicCheck) checkFields(m *Message, rec map[string]any, t plan.Topic) {
	fields := recordFields(t.Schema)
	if fields == nil {
		return
	}
	for name := range rec {
		if !slices.Contains(fields, name) {
			tc.errorf(m.Span, "topic %s has records without a field %q", t.Name, name).WithHint("its records have: %s", strings.Join(fields, ", "))
		}
	}
}

// recordFields lists the fields of a json topic's record schema; nil when
// it has none.
func recordFields(s plan.Schema) []string {
	if (s.Type != "json" && s.Type != "avro") || s.Definition == "" {
		return nil
	}
	var def struct {
		Fields []struct {
			Name string `json:"name"`
		} `json:"fields"`
	}
	if json.Unmarshal([]byte(s.Definition), &def) != nil {
		return nil
	}
	var names []string
	for _, f := range def.Fields {
		names = append(names, f.Name)
	}
	return names
}

func schemaText(s plan.Schema) string {
	if s.Type == "json" && s.Definition != "" {
		return "json record"
	}
	if s.Type == "avro" || s.Type == "protobuf" {
		return s.Type + " record"
	}
	return s.Type
}

func recordHint(s plan.Schema) string {
	if f := recordFields(s); f != nil {
		return ": a record { " + strings.Join(f, " = ..., ") + " = ... }"
	}
	return ""
}

// fileMessages reads the messages of a file, one a line: text for string
// and bytes topics, JSON for the others. Blank lines are skipped. The file
// is found beside the test file.
func (tc *topicCheck) fileMessages(v *lang.Value, t plan.Topic, expect bool) []Message {
	name, ok := tc.text(v, "file")
	if !ok {
		return nil
	}
	path := name
	if !filepath.IsAbs(path) {
		path = filepath.Join(filepath.Dir(tc.suite.File), name)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		tc.errorf(v.Span, "reading the messages: %v", err).WithHint("the path is relative to the test file's folder")
		return nil
	}
	tc.suite.Sources[path] = data
	var ms []Message
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, lang.MaxFileSize)
	offset := 0
	for line := 1; sc.Scan(); line++ {
		text := sc.Text()
		span := lang.SpanOf(lang.NewPos(path, offset, line, 1), lang.NewPos(path, offset+len(text), line, 1+len(text)))
		offset += len(text) + 1
		if strings.TrimSpace(text) == "" {
			continue
		}
		m := Message{Span: span, Value: text}
		if t.Schema.Type != "string" && t.Schema.Type != "bytes" {
			dec := json.NewDecoder(strings.NewReader(text))
			dec.UseNumber()
			if err := dec.Decode(&m.Value); err != nil {
				tc.errorf(span, "line %d is no JSON value: %v", line, err).WithHint("topic %s holds %s: write one JSON value a line", t.Name, schemaText(t.Schema))
				continue
			}
		}
		ms = append(ms, m)
	}
	if len(ms) == 0 && !expect {
		tc.errorf(v.Span, "%s holds no messages", name)
	}
	return ms
}
