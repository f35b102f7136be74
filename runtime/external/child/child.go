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
// applies it, in order, only when the function returns no error. It also
// reads the function's state, as it stands for this message.
type Result struct {
	fields []frame.Field
	s      *server
	id     uint64 // the call's
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

// GetState reads a key of the function's state: what this message set
// already, else what the messages before it left (the function needs
// state = true).
func (r *Result) GetState(key string) ([]byte, bool, error) {
	for i := len(r.fields) - 1; i >= 0; i-- {
		switch f := r.fields[i]; {
		case f.Name != key:
		case f.Tag == frame.PutState:
			return f.Value, true, nil
		case f.Tag == frame.DeleteState:
			return nil, false, nil
		}
	}
	a, err := r.query(frame.GetState, key)
	if err != nil {
		return nil, false, err
	}
	for _, f := range a.Fields {
		if f.Tag == frame.Value {
			return f.Value, true, nil
		}
	}
	return nil, false, nil
}

// GetCounter reads a counter of the function's state, with what this
// message added to it.
func (r *Result) GetCounter(key string) (int64, error) {
	a, err := r.query(frame.GetCounter, key)
	if err != nil {
		return 0, err
	}
	var n int64
	for _, f := range a.Fields {
		if f.Tag == frame.Counter {
			n, _ = f.Int()
		}
	}
	for _, f := range r.fields {
		if f.Tag == frame.IncrCounter && f.Name == key {
			by, _ := f.Int()
			n += by
		}
	}
	return n, nil
}

func (r *Result) query(tag byte, key string) (*frame.Frame, error) {
	if r.s == nil {
		return nil, errors.New("this result is not of a call from the runtime")
	}
	a, err := r.s.query(&frame.Frame{Kind: frame.Query, ID: r.id, Fields: []frame.Field{{Tag: tag, Value: []byte(key)}}})
	if err != nil {
		return nil, fmt.Errorf("reading %q from the function's state: %w", key, err)
	}
	for _, f := range a.Fields {
		if f.Tag == frame.Error {
			return nil, fmt.Errorf("reading %q from the function's state: %s", key, f.Value)
		}
	}
	return a, nil
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

// server is one side of the framing: calls and answers come in, results
// and queries go out.
type server struct {
	in     *bufio.Reader
	out    *bufio.Writer
	buf    []byte
	queued []*frame.Frame // calls that came while a query waited for its answer
}

// Serve serves calls read from r, writing results to w, until r ends.
func Serve(r io.Reader, w io.Writer, f Func) error {
	s := &server{in: bufio.NewReaderSize(r, 64<<10), out: bufio.NewWriterSize(w, 64<<10)}
	for {
		call, err := s.next()
		if err == io.EOF {
			return s.out.Flush()
		}
		if err != nil {
			return err
		}
		if err := s.write(handle(s, f, call)); err != nil {
			return err
		}
		// Results of calls already waiting go out together.
		if len(s.queued) == 0 && s.in.Buffered() == 0 {
			if err := s.out.Flush(); err != nil {
				return err
			}
		}
	}
}

// next returns the next call.
func (s *server) next() (*frame.Frame, error) {
	if len(s.queued) > 0 {
		call := s.queued[0]
		s.queued = s.queued[1:]
		return call, nil
	}
	call, err := frame.Read(s.in)
	switch {
	case err == io.EOF:
		return nil, err
	case err != nil:
		return nil, fmt.Errorf("reading a call from the runtime: %w", err)
	case call.Kind != frame.Call:
		return nil, fmt.Errorf("%w: frame kind %d where a call was expected", frame.ErrFormat, call.Kind)
	}
	return call, nil
}

func (s *server) write(f *frame.Frame) error {
	s.buf = frame.Append(s.buf[:0], f)
	_, err := s.out.Write(s.buf)
	return err
}

// query sends q and waits for its answer, keeping the calls that come
// meanwhile for later.
func (s *server) query(q *frame.Frame) (*frame.Frame, error) {
	if err := s.write(q); err != nil {
		return nil, err
	}
	if err := s.out.Flush(); err != nil {
		return nil, err
	}
	for {
		f, err := frame.Read(s.in)
		switch {
		case err != nil:
			return nil, fmt.Errorf("waiting for the runtime's answer: %w", err)
		case f.Kind == frame.Call:
			s.queued = append(s.queued, f)
		case f.Kind == frame.Answer && f.ID == q.ID:
			return f, nil
		default:
			return nil, fmt.Errorf("%w: frame kind %d for call %d where the answer for call %d was expected", frame.ErrFormat, f.Kind, f.ID, q.ID)
		}
	}
}

func handle(s *server, f Func, call *frame.Frame) *frame.Frame {
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
	r := Result{s: s, id: call.ID}
	err := safely(f, m, &r)
	res := &frame.Frame{Kind: frame.Result, ID: call.ID, Fields: r.fields}
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
