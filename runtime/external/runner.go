package external

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/meshc/meshc/runtime/external/frame"
)

// Defaults for Options left zero.
const (
	DefaultTimeout    = 30 * time.Second
	DefaultWindow     = 16
	DefaultMinBackoff = 100 * time.Millisecond
	DefaultMaxBackoff = 5 * time.Second
	// stableAfter is how long a child must live for the backoff to reset.
	stableAfter = 10 * time.Second
	// closeGrace is how long a child has to exit once its input is closed.
	closeGrace = 5 * time.Second
)

// Options configure a Runner.
type Options struct {
	Name  string  // the function's name, for messages
	Start Starter // starts one child
	// Timeout is the longest one call may take; a child that does not
	// answer in time is taken for hung and restarted. The caller's context
	// deadline applies too.
	Timeout time.Duration
	// Window is how many calls may be in flight to the child at once.
	Window                 int
	MinBackoff, MaxBackoff time.Duration
	Logger                 *slog.Logger
	// BadInput is wrapped into the error of a call whose input the
	// function cannot handle, so the runtime dead-letters it at once.
	BadInput error
}

// Runner keeps one child running and sends it calls.
type Runner struct {
	opts  Options
	log   *slog.Logger
	slots chan struct{}
	ids   atomic.Uint64

	mu      sync.Mutex
	cur     *conn         // nil while a child is being started
	changed chan struct{} // closed, and replaced, whenever cur changes
	closed  bool

	done    chan struct{} // closed by Close
	stopped chan struct{} // closed when the supervisor has stopped the child
}

// ErrClosed is returned by calls made after Close.
var ErrClosed = errors.New("the function's runner is closed")

// errDied marks a call whose child stopped before it answered.
var errDied = errors.New("the function stopped before it answered")

// New starts the first child, and returns an error when it cannot start;
// later children are started by the runner whenever one stops.
func New(ctx context.Context, opts Options) (*Runner, error) {
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.Window <= 0 {
		opts.Window = DefaultWindow
	}
	if opts.MinBackoff <= 0 {
		opts.MinBackoff = DefaultMinBackoff
	}
	if opts.MaxBackoff < opts.MinBackoff {
		opts.MaxBackoff = max(DefaultMaxBackoff, opts.MinBackoff)
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.BadInput == nil {
		opts.BadInput = errors.New("bad input")
	}
	r := &Runner{opts: opts, log: opts.Logger, slots: make(chan struct{}, opts.Window),
		changed: make(chan struct{}), done: make(chan struct{}), stopped: make(chan struct{})}
	c, err := r.start(ctx)
	if err != nil {
		return nil, err
	}
	go r.supervise(c)
	return r, nil
}

func (r *Runner) start(ctx context.Context) (*conn, error) {
	child, err := r.opts.Start(ctx)
	if err != nil {
		return nil, fmt.Errorf("starting function %s: %w", r.opts.Name, err)
	}
	return newConn(child), nil
}

// supervise restarts the child whenever it stops, waiting longer after
// each quick failure, until Close.
func (r *Runner) supervise(c *conn) {
	defer close(r.stopped)
	backoff := r.opts.MinBackoff
	for {
		r.set(c)
		born := time.Now()
		select {
		case <-c.gone:
		case <-r.done:
			r.set(nil)
			c.stop(closeGrace)
			return
		}
		r.set(nil)
		if time.Since(born) > stableAfter {
			backoff = r.opts.MinBackoff
		}
		r.log.Warn("function stopped; restarting it", "function", r.opts.Name, "reason", c.reason(), "after", backoff)
		for {
			select {
			case <-time.After(backoff):
			case <-r.done:
				return
			}
			backoff = min(2*backoff, r.opts.MaxBackoff)
			var err error
			if c, err = r.start(context.Background()); err == nil {
				break
			}
			r.log.Error("function did not start", "function", r.opts.Name, "error", err, "retry after", backoff)
		}
	}
}

func (r *Runner) set(c *conn) {
	r.mu.Lock()
	r.cur = c
	close(r.changed)
	r.changed = make(chan struct{})
	r.mu.Unlock()
}

// live returns a running child, waiting while one is being started.
func (r *Runner) live(ctx context.Context) (*conn, error) {
	for {
		r.mu.Lock()
		c, changed, closed := r.cur, r.changed, r.closed
		r.mu.Unlock()
		if closed {
			return nil, ErrClosed
		}
		if c != nil && !c.isDead() {
			return c, nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// Close stops the child: its standard input is closed, and it is killed if
// it has not exited a few seconds later. Calls in flight fail.
func (r *Runner) Close() error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil
	}
	r.closed = true
	close(r.changed)
	r.changed = make(chan struct{})
	r.mu.Unlock()
	close(r.done)
	<-r.stopped
	return nil
}

// Call sends one message to the child and applies its result: outputs go
// to emit, state and counter operations and publishes to ctx. A child that
// stops while it holds the message is restarted and the message sent again,
// once; a child that does not answer within the timeout is taken for hung,
// restarted, and the call fails, so that the runtime retries or
// dead-letters the message. Waiting for a free slot or for a restart does
// not count against the timeout, but is bounded too.
func (r *Runner) Call(ctx Context, payload []byte, emit func([]byte) error) error {
	wctx, cancel := context.WithTimeout(ctx, r.opts.Timeout+waitLimit)
	defer cancel()
	if err := r.acquire(ctx, wctx); err != nil {
		return err
	}
	defer r.release()
	res, err := r.exchange(ctx, wctx, callFrame(ctx, payload), nil)
	if err != nil {
		return err
	}
	return r.apply(ctx, res, emit)
}

// Pending is a call sent ahead of its turn: the child works on it while the
// caller finishes earlier messages.
type Pending struct {
	r    *Runner
	done chan struct{}
	res  *frame.Frame
	err  error
}

// Start sends one message to the child, as Call does, and returns once it
// is written (after waiting for a free slot of the window, or for the
// child to start); Finish applies its result. Calls started in a row reach
// the child in that order, and keep it busy with the next while the caller
// sends the outputs of the last.
func (r *Runner) Start(ctx Context, payload []byte) *Pending {
	p := &Pending{r: r, done: make(chan struct{})}
	wctx, cancel := context.WithTimeout(ctx, r.opts.Timeout+waitLimit)
	fail := func(err error) *Pending {
		cancel()
		p.err = err
		close(p.done)
		return p
	}
	if err := r.acquire(ctx, wctx); err != nil {
		return fail(err)
	}
	req := callFrame(ctx, payload)
	f, err := r.send(ctx, wctx, req)
	if err != nil {
		r.release()
		return fail(err)
	}
	go func() {
		defer close(p.done)
		defer cancel()
		defer r.release()
		p.res, p.err = r.exchange(ctx, wctx, req, f)
	}()
	return p
}

// Finish waits for the result of a started call and applies it, as Call
// does, with ctx.
func (p *Pending) Finish(ctx Context, emit func([]byte) error) error {
	select {
	case <-p.done:
	case <-ctx.Done():
		return fmt.Errorf("function %s: %w", p.r.opts.Name, ctx.Err())
	}
	if p.err != nil {
		return p.err
	}
	return p.r.apply(ctx, p.res, emit)
}

// acquire takes a slot of the window.
func (r *Runner) acquire(ctx, wctx context.Context) error {
	select {
	case r.slots <- struct{}{}:
		return nil
	case <-wctx.Done():
		return r.waitErr(ctx, wctx, "waiting for a free slot")
	}
}

func (r *Runner) release() { <-r.slots }

// flight is a call written to a child, waiting for its result.
type flight struct {
	c         *conn
	id        uint64
	ch        chan *frame.Frame
	parent    context.Context // the whole call's
	ctx       context.Context // this attempt's time limit
	cancel    context.CancelFunc
	startedAt time.Time
}

// send writes a call to the live child, waiting for one to start.
func (r *Runner) send(ctx Context, wctx context.Context, req *frame.Frame) (*flight, error) {
	c, err := r.live(wctx)
	if errors.Is(err, ErrClosed) {
		return nil, err
	}
	if err != nil {
		return nil, r.waitErr(ctx, wctx, "waiting for it to start")
	}
	req.ID = r.ids.Add(1)
	f := &flight{c: c, id: req.ID, parent: wctx, startedAt: time.Now()}
	f.ctx, f.cancel = context.WithTimeout(wctx, r.opts.Timeout)
	f.ch = c.send(f.ctx, req, ctx)
	return f, nil
}

// await waits for a call's result within the time limit; a child that does
// not answer in time is taken for hung, and killed.
func (r *Runner) await(f *flight) (*frame.Frame, error) {
	defer f.cancel()
	res, err := f.c.await(f.ctx, f.id, f.ch)
	switch {
	case err == nil || errors.Is(err, errDied):
		return res, err
	case f.parent.Err() == context.Canceled:
		return nil, fmt.Errorf("function %s: %w", r.opts.Name, f.parent.Err())
	}
	return nil, fmt.Errorf("function %s did not answer within %s: it was restarted; the message is retried, then dead-lettered: %w",
		r.opts.Name, time.Since(f.startedAt).Round(time.Millisecond), err)
}

// exchange returns the answer to a call, sending it first unless f says it
// has been sent already. A child that stops while it holds the call gets
// it again once restarted, once.
func (r *Runner) exchange(ctx Context, wctx context.Context, req *frame.Frame, f *flight) (*frame.Frame, error) {
	for attempt := 1; ; attempt++ {
		if f == nil {
			var err error
			if f, err = r.send(ctx, wctx, req); err != nil {
				return nil, err
			}
		}
		res, err := r.await(f)
		c := f.c
		f = nil
		switch {
		case err == nil:
			return res, nil
		case !errors.Is(err, errDied):
			return nil, err
		case attempt >= 2:
			return nil, fmt.Errorf("function %s stopped twice while it held this message (%s): the message is retried, then dead-lettered", r.opts.Name, c.reason())
		}
	}
}

// Window is how many calls may be in flight to the child at once.
func (r *Runner) Window() int { return r.opts.Window }

// waitLimit bounds the wait for a slot or for a child to start.
const waitLimit = 30 * time.Second

// waitErr explains a call that could not be sent.
func (r *Runner) waitErr(parent, wctx context.Context, doing string) error {
	if parent.Err() == context.Canceled {
		return fmt.Errorf("function %s: %s: %w", r.opts.Name, doing, parent.Err())
	}
	return fmt.Errorf("function %s: %s: %w", r.opts.Name, doing, wctx.Err())
}

func callFrame(ctx Context, payload []byte) *frame.Frame {
	f := &frame.Frame{Kind: frame.Call, Fields: make([]frame.Field, 0, 6)}
	f.Fields = append(f.Fields, frame.Field{Tag: frame.Payload, Value: payload})
	if k := ctx.Key(); k != "" {
		f.Fields = append(f.Fields, frame.Field{Tag: frame.Key, Value: []byte(k)})
	}
	for k, v := range ctx.Properties() {
		f.Fields = append(f.Fields, frame.Field{Tag: frame.Property, Name: k, Value: []byte(v)})
	}
	f.Fields = append(f.Fields,
		frame.Field{Tag: frame.Topic, Value: []byte(ctx.InputTopic())},
		frame.Field{Tag: frame.MessageID, Value: []byte(ctx.MessageID())})
	if t := ctx.EventTime(); !t.IsZero() {
		f.Fields = append(f.Fields, frame.Field{Tag: frame.EventTime, Value: frame.IntValue(t.UnixMilli())})
	}
	return f
}

// apply carries out a result. A result with an error carries nothing else
// that counts.
func (r *Runner) apply(ctx Context, res *frame.Frame, emit func([]byte) error) error {
	for _, f := range res.Fields {
		switch f.Tag {
		case frame.Error:
			return fmt.Errorf("function %s: %s", r.opts.Name, f.Value)
		case frame.BadInput:
			return fmt.Errorf("%w: function %s: %s", r.opts.BadInput, r.opts.Name, f.Value)
		}
	}
	for _, f := range res.Fields {
		var err error
		switch f.Tag {
		case frame.Output:
			err = emit(f.Value)
		case frame.PutState:
			err = ctx.PutState(f.Name, f.Value)
		case frame.DeleteState:
			err = ctx.DeleteState(f.Name)
		case frame.IncrCounter:
			n, _ := f.Int()
			_, err = ctx.IncrCounter(f.Name, n)
		case frame.Publish:
			err = ctx.Publish(f.Name, f.Value)
		}
		if err != nil {
			return err
		}
	}
	return nil
}
