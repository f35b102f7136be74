package runtime

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"
	"unicode"

	"github.com/meshc/meshc/runtime/codec"
)

// Builtins returns a registry holding the built-in functions, sources and
// sinks that meshes name as builtin.NAME. SPEC.md lists their signatures.
func Builtins() *Registry {
	r := NewRegistry()
	// These use their input only until they return: a string input is
	// read from the message's own bytes.
	r.borrowingFunc("identity", func(_ Context, in Input, emit Emit) error { return emit(in.Value) })
	r.borrowingFunc("exclamation", Typed(func(_ Context, s string) (string, error) { return s + "!", nil }))
	r.borrowingFunc("upper", Typed(func(_ Context, s string) (string, error) { return strings.ToUpper(s), nil }))
	r.borrowingFunc("split_words", splitWords)
	r.borrowingFunc("filter", filter)
	r.Func("word_count", wordCount)
	r.Func("route", route)
	r.Func("project", project)
	r.Func("parse_json", parseJSON)
	r.Func("stdout", stdoutSink)
	r.Func("file", fileSink)
	r.Func("webhook", webhookSink)
	r.Source("generator", generator)
	r.Source("file", fileSource)
	r.Source("stdin", stdinSource)
	return r
}

func splitWords(_ Context, in Input, emit Emit) error {
	s, _ := in.Value.(string)
	for _, w := range strings.FieldsFunc(s, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '\'' }) {
		w = strings.ToLower(w)
		if err := emit(Keyed{Key: w, Value: w}); err != nil {
			return err
		}
	}
	return nil
}

// wordCount keeps one counter per word in the instance's state.
func wordCount(ctx Context, in Input, emit Emit) error {
	w, _ := in.Value.(string)
	n, err := ctx.IncrCounter(w, 1)
	if err != nil {
		return err
	}
	return emit(map[string]any{"word": w, "count": n})
}

// filter passes the messages for which config "where" holds.
func filter(ctx Context, in Input, emit Emit) error {
	cond, err := compiledWhere(ctx)
	if err != nil {
		return err
	}
	if cond.match(in.Value) {
		return emit(in.Value)
	}
	return nil
}

// route publishes each message to the topic that config "routes" maps its
// "field" value to, or to the output when no route matches.
func route(ctx Context, in Input, emit Emit) error {
	cfg := ctx.UserConfig()
	field, _ := cfg["field"].(string)
	routes, _ := cfg["routes"].(map[string]any)
	if field == "" {
		return fmt.Errorf("route needs config field = \"PATH\" and routes { VALUE = \"TOPIC\" }")
	}
	v, _ := lookup(in.Value, field)
	if topic, ok := routes[fmt.Sprint(v)].(string); ok {
		return ctx.Publish(topic, in.Value)
	}
	return emit(in.Value)
}

// project keeps only the fields listed in config "fields".
func project(ctx Context, in Input, emit Emit) error {
	fields, _ := ctx.UserConfig()["fields"].([]any)
	src, ok := in.Value.(map[string]any)
	if !ok {
		return fmt.Errorf("%w: project reads JSON objects", ErrBadInput)
	}
	out := make(map[string]any, len(fields))
	for _, f := range fields {
		name := fmt.Sprint(f)
		if v, ok := lookup(src, name); ok {
			out[name] = v
		}
	}
	return emit(out)
}

func stdoutSink(ctx Context, in Input, _ Emit) error {
	_, err := fmt.Fprintf(os.Stdout, "%s\n", display(in))
	return err
}

func fileSink(ctx Context, in Input, _ Emit) error {
	path, _ := ctx.UserConfig()["path"].(string)
	if path == "" {
		return fmt.Errorf("the file sink needs config path = \"FILE\"")
	}
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	if _, err := fmt.Fprintf(f, "%s\n", display(in)); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

var webhookClient = &http.Client{Timeout: 30 * time.Second}

func webhookSink(ctx Context, in Input, _ Emit) error {
	url, _ := ctx.UserConfig()["url"].(string)
	if url == "" {
		return fmt.Errorf("the webhook sink needs config url = \"URL\"")
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(in.Payload))
	if err != nil {
		return err
	}
	resp, err := webhookClient.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode >= 300 {
		return fmt.Errorf("webhook %s answered %s", url, resp.Status)
	}
	return nil
}

// display renders a message for people: text as it is, JSON compactly.
func display(in Input) string {
	switch v := in.Value.(type) {
	case string:
		return v
	case []byte:
		return fmt.Sprintf("%q", v)
	case map[string]any, []any:
		b, _ := json.Marshal(v)
		return string(b)
	}
	return fmt.Sprint(in.Value)
}

// generator emits config "lines" in turn, "count" messages in all (the
// number of lines by default), one every "interval".
func generator(ctx SourceContext, emit KeyedEmit) error {
	cfg := ctx.UserConfig()
	lines, _ := cfg["lines"].([]any)
	if len(lines) == 0 {
		return fmt.Errorf("the generator needs config lines = [\"...\"]")
	}
	count := len(lines)
	if n, ok := codec.AsInt64(cfg["count"]); ok {
		count = int(n)
	}
	interval, _ := time.ParseDuration(fmt.Sprint(cfg["interval"]))
	for i := range count {
		if err := emit(fmt.Sprint(i), fmt.Sprint(lines[i%len(lines)]), nil); err != nil {
			return err
		}
		if interval > 0 {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(interval):
			}
		}
	}
	return nil
}

func fileSource(ctx SourceContext, emit KeyedEmit) error {
	path, _ := ctx.UserConfig()["path"].(string)
	if path == "" {
		return fmt.Errorf("the file source needs config path = \"FILE\"")
	}
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return emitLines(ctx, f, emit)
}

func stdinSource(ctx SourceContext, emit KeyedEmit) error { return emitLines(ctx, os.Stdin, emit) }

func emitLines(ctx SourceContext, f *os.File, emit KeyedEmit) error {
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 4<<20)
	for n := 0; sc.Scan(); n++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := emit(fmt.Sprint(n), sc.Text(), nil); err != nil {
			return err
		}
	}
	return sc.Err()
}

// lookup follows a dotted path into decoded JSON.
func lookup(v any, path string) (any, bool) {
	for _, part := range strings.Split(path, ".") {
		m, ok := v.(map[string]any)
		if !ok {
			return nil, false
		}
		if v, ok = m[part]; !ok {
			return nil, false
		}
	}
	return v, true
}

// parseJSON reads each line as one JSON value for the output topic. A line
// that is not JSON, or does not fit the topic's schema, can never be
// written: it is bad input, dead-lettered at once with the reason. With
// config key, each value is keyed by that field, so that a key_shared
// function downstream has one instance per key.
func parseJSON(ctx Context, in Input, emit Emit) error {
	dec := json.NewDecoder(bytes.NewReader(in.Payload))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return fmt.Errorf("%w: not a line of JSON: %v", ErrBadInput, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return fmt.Errorf("%w: not a line of JSON: more follows the first value", ErrBadInput)
	}
	out := v
	if field, _ := ctx.UserConfig()["key"].(string); field != "" {
		obj, _ := v.(map[string]any)
		k, ok := obj[field]
		if !ok {
			return fmt.Errorf("%w: the record has no field %s to key it by", ErrBadInput, field)
		}
		out = Keyed{Key: fmt.Sprint(k), Value: v}
	}
	err := emit(out)
	if errors.Is(err, errOutput) {
		return fmt.Errorf("%w: %v", ErrBadInput, err)
	}
	return err
}
