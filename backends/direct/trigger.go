package direct

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"

	"github.com/meshc/meshc/planner/plan"
	"github.com/meshc/meshc/runtime"
	"github.com/meshc/meshc/runtime/codec"
)

// quiet is how long a trigger waits for more outputs after the last one:
// a function may write several messages for one input.
const quiet = 500 * time.Millisecond

// Trigger sends value, as text, to an input of a function or sink (topic
// "" is its first) and returns the topic it went to and what the function
// writes to its output for it, rendered as text; a sink or a function that
// writes nothing for it gives no outputs once timeout has passed. The
// message carries a trace of its own (runtime.TraceProperty), which the
// runtime passes on to the outputs it causes.
func Trigger(ctx context.Context, client pulsar.Client, p *plan.Plan, name, topic, value string, timeout time.Duration) (sent string, outputs []string, err error) {
	c, err := Component(p, name)
	if err != nil {
		return "", nil, err
	}
	if c.Kind == plan.Source {
		return "", nil, fmt.Errorf("trigger sends to a function or a sink; %s is a source", c.Name)
	}
	in, err := input(c, topic)
	if err != nil {
		return "", nil, err
	}
	payload, err := encodeText(in.Schema, value)
	if err != nil {
		return "", nil, fmt.Errorf("--value for %s: %w", in.Topic, err)
	}
	var reader pulsar.Reader
	var out *codec.Codec
	if c.Output != nil {
		if out, err = codec.New(c.Output.Schema); err != nil {
			return "", nil, err
		}
		reader, err = client.CreateReader(pulsar.ReaderOptions{Topic: c.Output.Topic, StartMessageID: pulsar.LatestMessageID()})
		if err != nil {
			return "", nil, fmt.Errorf("reading %s: %w", c.Output.Topic, err)
		}
		defer reader.Close()
	}
	key := triggerKey()
	producer, err := client.CreateProducer(pulsar.ProducerOptions{Topic: in.Topic})
	if err != nil {
		return "", nil, fmt.Errorf("writing to %s: %w", in.Topic, err)
	}
	_, err = producer.Send(ctx, &pulsar.ProducerMessage{Key: key, Payload: payload, Properties: map[string]string{runtime.TraceProperty: key}})
	producer.Close()
	if err != nil || reader == nil {
		return in.Topic, nil, err
	}
	outputs, err = collect(ctx, reader, out, key, timeout)
	return in.Topic, outputs, err
}

// collect reads the outputs traced to key (runtime.TraceProperty), until none has come for a while
// after the first, or timeout passes without any.
func collect(ctx context.Context, r pulsar.Reader, out *codec.Codec, key string, timeout time.Duration) ([]string, error) {
	var got []string
	deadline := time.Now().Add(timeout)
	for {
		wait := time.Until(deadline)
		if len(got) > 0 {
			wait = quiet
		}
		rctx, cancel := context.WithTimeout(ctx, wait)
		msg, err := r.Next(rctx)
		cancel()
		if err != nil {
			if ctx.Err() != nil {
				return got, ctx.Err()
			}
			return got, nil // quiet, or timed out
		}
		if msg.Properties()[runtime.TraceProperty] != key {
			continue
		}
		v, err := out.Decode(msg.Payload())
		if err != nil {
			return got, err
		}
		got = append(got, Display(v))
	}
}

func input(c *plan.Component, topic string) (plan.Input, error) {
	var names []string
	for _, in := range c.Inputs {
		if in.Pattern {
			continue
		}
		if topic == "" || in.Topic == topic || strings.HasSuffix(in.Topic, "/"+topic) {
			return in, nil
		}
		names = append(names, in.Topic)
	}
	if topic == "" {
		return plan.Input{}, fmt.Errorf("%s reads no named topic to send to", c.Name)
	}
	return plan.Input{}, fmt.Errorf("%s does not read topic %s; it reads %s", c.Name, topic, strings.Join(names, ", "))
}

// encodeText turns text typed by a person into a payload of schema s:
// JSON for json, a number or bool for those, the text itself otherwise.
func encodeText(s plan.Schema, text string) ([]byte, error) {
	cd, err := codec.New(s)
	if err != nil {
		return nil, err
	}
	var v any = text
	switch s.Type {
	case "json":
		d := json.NewDecoder(strings.NewReader(text))
		d.UseNumber()
		if err := d.Decode(&v); err != nil {
			return nil, fmt.Errorf("want JSON, such as {\"id\": 1}: %v", err)
		}
	case "int64":
		v, err = strconv.ParseInt(text, 10, 64)
	case "float64":
		v, err = strconv.ParseFloat(text, 64)
	case "bool":
		v, err = strconv.ParseBool(text)
	case "bytes":
		v = []byte(text)
	}
	if err != nil {
		return nil, fmt.Errorf("want a %s: %v", s.Type, err)
	}
	return cd.Encode(v)
}

// Display renders a decoded value for people: text as it is, JSON
// compactly with sorted keys.
func Display(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case []byte:
		return strconv.Quote(string(v))
	case map[string]any, []any:
		b, _ := json.Marshal(v)
		return string(b)
	}
	return fmt.Sprint(v)
}

func triggerKey() string {
	var b [8]byte
	rand.Read(b[:])
	return "trigger-" + hex.EncodeToString(b[:])
}
