package child

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/meshc/meshc/runtime/external/frame"
)

// Message is one message from the function's input topics.
type Message struct {
	Payload    []byte
	Key        string
	Properties map[string]string
	Topic      string
	MessageID  string
	EventTime  time.Time // zero when the producer did not set it
}

// Result collects what a function does with one message. The runtime
// applies it, in order, only when the function returns no error.
type Result struct {
	fields []frame.Field
}

// Emit sends a payload to the function's output topic.
func (r *Result) Emit(payload []byte) {
	r.fields = append(r.fields, frame.Field{Tag: frame.Output, Value: payload})
}

// Publish sends a payload to another topic the function may publish to.
func (r *Result) Publish(topic string, payload []byte) {
	r.fields = append(r.fields, frame.Field{Tag: frame.Publish, Name: topic, Value: payload})
}

// PutState sets a key of the function's state; the value may not be empty.
func (r *Result) PutState(key string, value []byte) {
	r.fields = append(r.fields, frame.Field{Tag: frame.PutState, Name: key, Value: value})
}

// DeleteState removes a key of the function's state.
func (r *Result) DeleteState(key string) {
	r.fields = append(r.fields, frame.Field{Tag: frame.DeleteState, Name: key})
}

// IncrCounter adds by to a counter of the function's state.
func (r *Result) IncrCounter(key string, by int64) {
	r.fields = append(r.fields, frame.Field{Tag: frame.IncrCounter, Name: key, Value: frame.IntValue(by)})
}

// Func handles one message. An error has the message retried, then
// dead-lettered; an error from BadInput dead-letters it at once.
type Func func(m *Message, r *Result) error

type badInput struct{ err error }

func (b badInput) Error() string { return b.err.Error() }
func (b badInput) Unwrap() error { return b.err }

// BadInput marks an input the function can never handle, so that it is
// dead-lettered without retries.
func BadInput(err error) error { return badInput{err} }

// Run serves calls on standard input and output until standard input ends.
func Run(f Func) error {
	return Serve(os.Stdin, os.Stdout, f)
}

// Serve serves calls read from r, writing results to w, until r ends.
func Serve(r io.Reader, w io.Writer, f Func) error {
	in := bufio.NewReaderSize(r, 64<<10)
	out := bufio.NewWriterSize(w, 64<<10)
	var buf []byte
	for {
		call, err := frame.Read(in)
		if err == io.EOF {
			return out.Flush()
		}
		if err != nil {
			return fmt.Errorf("reading a call from the runtime: %w", err)
		}
		if call.Kind != frame.Call {
			return fmt.Errorf("%w: frame kind %d where a call was expected", frame.ErrFormat, call.Kind)
		}
		res := handle(f, call)
		buf = frame.Append(buf[:0], &res)
		if _, err := out.Write(buf); err != nil {
			return err
		}
		// Results of calls already waiting go out together.
		if in.Buffered() == 0 {
			if err := out.Flush(); err != nil {
				return err
			}
		}
	}
}

func handle(f Func, call *frame.Frame) frame.Frame {
	m := &Message{}
	for _, fl := range call.Fields {
		switch fl.Tag {
		case frame.Payload:
			m.Payload = fl.Value
		case frame.Key:
			m.Key = string(fl.Value)
		case frame.Property:
			if m.Properties == nil {
				m.Properties = map[string]string{}
			}
			m.Properties[fl.Name] = string(fl.Value)
		case frame.Topic:
			m.Topic = string(fl.Value)
		case frame.MessageID:
			m.MessageID = string(fl.Value)
		case frame.EventTime:
			ms, _ := fl.Int()
			m.EventTime = time.UnixMilli(ms)
		}
	}
	var r Result
	err := safely(f, m, &r)
	res := frame.Frame{Kind: frame.Result, ID: call.ID, Fields: r.fields}
	var bad badInput
	switch {
	case errors.As(err, &bad):
		res.Fields = []frame.Field{{Tag: frame.BadInput, Value: []byte(err.Error())}}
	case err != nil:
		res.Fields = []frame.Field{{Tag: frame.Error, Value: []byte(err.Error())}}
	}
	return res
}

// safely turns a panic into an error, as the runtime does for Go functions.
func safely(f Func, m *Message, r *Result) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("function panicked: %v", p)
		}
	}()
	return f(m, r)
}
