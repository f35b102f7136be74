package runtime

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"reflect"
	"time"

	"github.com/meshc/meshc/runtime/external"
)

// Context is what a function sees of the message it handles and of the
// instance that runs it. It is a context.Context, done when the message's
// timeout passes or the instance stops. A Context, like the Emit given
// with it, is the message's until the function returns: the runtime
// reuses it for a later message once this one is settled.
type Context interface {
	context.Context

	// The message.
	InputTopic() string
	MessageID() string
	Key() string
	Properties() map[string]string
	EventTime() time.Time

	// The instance.
	Name() string // the function's name in its mesh
	Tenant() string
	Namespace() string
	InstanceIndex() int
	UserConfig() map[string]any
	Secret(name string) (string, bool)
	Logger() *slog.Logger

	// Counters and key-value state, kept by the instance's state store.
	IncrCounter(key string, by int64) (int64, error)
	GetCounter(key string) (int64, error)
	PutState(key string, value []byte) error
	GetState(key string) ([]byte, bool, error)
	DeleteState(key string) error

	// Publish sends a value to another topic of the function's `publishes`
	// list, encoded by that topic's schema.
	Publish(topic string, value any) error
	// RecordMetric adds an observation to a user metric.
	RecordMetric(name string, value float64)
}

// Input is one decoded message: its payload as received, and the value its
// schema decodes it to (string, []byte, int64, float64, bool, or for json
// maps, slices and json.Number).
type Input struct {
	Payload []byte
	Value   any

	ahead *external.Pending // a foreign function's call, started ahead
}

// Emit sends one output value; a function may call it any number of times.
// The value is encoded by the output topic's schema.
type Emit func(value any) error

// Keyed is a value emitted, or published, with a key of its own; other
// values carry their input message's key. Key_Shared subscriptions give
// each key to one instance at a time, so a value counted or joined by some
// field downstream is keyed by that field (builtin.split_words keys each
// word by itself).
type Keyed struct {
	Key   string
	Value any
}

// Func is the form every function takes inside the runtime. It returns an
// error to have the message retried, and dead-lettered after max_retries.
type Func func(ctx Context, in Input, emit Emit) error

// Typed adapts a function of typed values. The input is converted from the
// decoded value when the types match, and read from its JSON form
// otherwise: the payload of a json topic, or the record decoded from an
// avro or protobuf one (map[string]any of json.Number, string, bool,
// []byte, []any and maps), so one struct with json tags reads all three;
// the output is encoded by the output schema.
func Typed[I, O any](f func(Context, I) (O, error)) Func {
	return func(ctx Context, in Input, emit Emit) error {
		var i I
		if err := convert(in, &i); err != nil {
			return err
		}
		o, err := f(ctx, i)
		if err != nil {
			return err
		}
		return emit(o)
	}
}

// Bytes adapts a function of raw payloads.
func Bytes(f func(Context, []byte) ([]byte, error)) Func {
	return func(ctx Context, in Input, emit Emit) error {
		out, err := f(ctx, in.Payload)
		if err != nil || out == nil {
			return err
		}
		return emit(out)
	}
}

// Sink adapts a function that consumes messages and writes no output.
func Sink[I any](f func(Context, I) error) Func {
	return func(ctx Context, in Input, _ Emit) error {
		var i I
		if err := convert(in, &i); err != nil {
			return err
		}
		return f(ctx, i)
	}
}

// convert fills dst from the decoded value, or from its JSON form: the
// payload of a json topic, the record of an avro or protobuf one.
func convert[I any](in Input, dst *I) error {
	if v, ok := in.Value.(I); ok {
		*dst = v
		return nil
	}
	if p, ok := any(dst).(*[]byte); ok {
		*p = in.Payload
		return nil
	}
	err := json.Unmarshal(in.Payload, dst)
	switch in.Value.(type) {
	case map[string]any, []any:
		if err != nil {
			// A record decoded from avro or protobuf is read through its
			// JSON form, so a function's own struct types work for all.
			var text []byte
			var zero I
			*dst = zero
			if text, err = json.Marshal(in.Value); err == nil {
				err = json.Unmarshal(text, dst)
			}
		}
	}
	if err != nil {
		return fmt.Errorf("%w: cannot read the input as %s: %v", ErrBadInput, reflect.TypeFor[I](), err)
	}
	return nil
}

// ErrBadInput marks an input a function cannot read: retrying it cannot
// help, so it goes to the dead-letter topic at once.
var ErrBadInput = fmt.Errorf("bad input")

// SourceFunc produces messages until it returns; returning nil means the
// source is done.
type SourceFunc func(ctx SourceContext, emit KeyedEmit) error

// KeyedEmit sends a value with a key and properties.
type KeyedEmit func(key string, value any, props map[string]string) error

// SourceContext is what a source sees of its instance.
type SourceContext interface {
	context.Context
	Name() string
	InstanceIndex() int
	UserConfig() map[string]any
	Secret(name string) (string, bool)
	Logger() *slog.Logger
}
