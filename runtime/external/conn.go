package external

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/meshc/meshc/runtime/external/frame"
)

// Context is what a call needs of the runtime's context of one message;
// the runtime's Context has all of it.
type Context interface {
	context.Context
	InputTopic() string
	MessageID() string
	Key() string
	Properties() map[string]string
	EventTime() time.Time
	IncrCounter(key string, by int64) (int64, error)
	GetCounter(key string) (int64, error)
	PutState(key string, value []byte) error
	GetState(key string) ([]byte, bool, error)
	DeleteState(key string) error
	Publish(topic string, value any) error
}

// Child is one running copy of a function.
type Child struct {
	Stdin  io.WriteCloser // calls go in
	Stdout io.Reader      // results come out
	Kill   func()         // stops it at once
	// Wait returns once the child is gone, after Stdout has been read to
	// its end, with the reason it stopped.
	Wait func() error
}

// Starter starts a child.
type Starter func(ctx context.Context) (*Child, error)

// conn is the runner's link to one child.
type conn struct {
	child *Child

	wmu sync.Mutex
	buf []byte

	mu      sync.Mutex
	pending map[uint64]*inflight
	err     error         // why the child stopped
	dead    chan struct{} // closed when the child is of no more use
	gone    chan struct{} // closed when it has exited
}

// inflight is a call written to the child and not answered yet.
type inflight struct {
	result chan *frame.Frame // buffered: the call may have given up already
	msg    Context           // reads state for the call's queries
}

func newConn(child *Child) *conn {
	c := &conn{child: child, pending: map[uint64]*inflight{},
		dead: make(chan struct{}), gone: make(chan struct{})}
	go c.read()
	return c
}

// read hands each result to its call, and answers each query, until the
// child's output ends.
func (c *conn) read() {
	in := bufio.NewReaderSize(c.child.Stdout, 64<<10)
	for {
		f, err := frame.Read(in)
		if err == nil && f.Kind != frame.Result && f.Kind != frame.Query {
			err = fmt.Errorf("%w: kind %d where a result or a query was expected", frame.ErrFormat, f.Kind)
		}
		if err != nil {
			c.fail(readErr(err))
			break
		}
		c.mu.Lock()
		call := c.pending[f.ID]
		if f.Kind == frame.Result {
			delete(c.pending, f.ID)
		}
		c.mu.Unlock()
		switch {
		case f.Kind == frame.Query:
			go c.answer(call, f)
		case call != nil:
			call.result <- f
		}
	}
	c.child.Kill()
	werr := c.child.Wait()
	c.mu.Lock()
	if werr != nil {
		c.err = fmt.Errorf("%w (%v)", c.err, werr)
	}
	c.mu.Unlock()
	close(c.gone)
}

func readErr(err error) error {
	switch {
	case errors.Is(err, io.EOF):
		return errors.New("it closed its standard output")
	case errors.Is(err, frame.ErrFormat):
		return fmt.Errorf("it wrote something that is not a result to its standard output (logs belong on standard error): %w", err)
	}
	return fmt.Errorf("reading its standard output: %w", err)
}

// fail marks the child as of no more use, kills it, and wakes its calls.
func (c *conn) fail(err error) {
	c.mu.Lock()
	if c.err != nil {
		c.mu.Unlock()
		return
	}
	c.err = err
	close(c.dead)
	c.mu.Unlock()
	c.child.Kill()
}

func (c *conn) isDead() bool {
	select {
	case <-c.dead:
		return true
	default:
		return false
	}
}

func (c *conn) reason() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// send writes one call of msg and returns where its result will come; its
// queries read state through msg. When ctx runs out of time the child is
// taken for hung and killed.
func (c *conn) send(ctx context.Context, req *frame.Frame, msg Context) chan *frame.Frame {
	call := &inflight{result: make(chan *frame.Frame, 1), msg: msg}
	c.mu.Lock()
	dead := c.err != nil
	if !dead {
		c.pending[req.ID] = call
	}
	c.mu.Unlock()
	if dead {
		return call.result // await finds the child dead
	}
	// A write blocked on a hung child's full pipe ends when it is killed.
	defer context.AfterFunc(ctx, func() { c.hung(ctx) })()
	if err := c.write(req); err != nil {
		c.fail(fmt.Errorf("writing to its standard input: %w", err))
	}
	return call.result
}

func (c *conn) hung(ctx context.Context) {
	if ctx.Err() == context.DeadlineExceeded {
		c.fail(errors.New("it did not answer in time"))
	}
}

// await waits for the result of a call sent with send.
func (c *conn) await(ctx context.Context, id uint64, ch chan *frame.Frame) (*frame.Frame, error) {
	defer func() {
		c.mu.Lock()
		delete(c.pending, id)
		c.mu.Unlock()
	}()
	select {
	case res := <-ch:
		return res, nil
	case <-ctx.Done():
		c.hung(ctx)
		return nil, ctx.Err()
	case <-c.dead:
		// A result that arrived just before the end still counts.
		select {
		case res := <-ch:
			return res, nil
		default:
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, errDied
	}
}

func (c *conn) write(f *frame.Frame) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.buf = frame.Append(c.buf[:0], f)
	_, err := c.child.Stdin.Write(c.buf)
	return err
}

// stop closes the child's input so it can finish and exit, and kills it if
// it has not within grace.
func (c *conn) stop(grace time.Duration) {
	c.wmu.Lock()
	c.child.Stdin.Close()
	c.wmu.Unlock()
	select {
	case <-c.gone:
	case <-time.After(grace):
		c.fail(errors.New("it did not exit when its input was closed"))
		<-c.gone
	}
}
