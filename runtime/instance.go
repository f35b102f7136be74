package runtime

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"regexp"
	"strings"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/apache/pulsar-client-go/pulsar"
	pulsarlog "github.com/apache/pulsar-client-go/pulsar/log"
	"github.com/meshc/meshc/planner/plan"
	"github.com/meshc/meshc/runtime/codec"
)

// Options configure one running instance.
type Options struct {
	Plan      *plan.Instance
	PulsarURL string
	Registry  *Registry
	Logger    *slog.Logger
	// Listen is the address of /metrics and /healthz; empty serves none.
	Listen string
	// Secret returns a secret's value by name; by default the environment
	// variable MESHC_SECRET_<NAME>, which deployments fill from their store.
	Secret func(name string) (string, bool)
	// StayWhenDone keeps a source that has produced everything running,
	// idle and healthy, until ctx is done: schedulers (Nomad services,
	// Kubernetes Deployments) restart a program that exits, even with
	// success, and the source would produce everything again.
	StayWhenDone bool
	// GracePeriod bounds how long a stopping instance waits for the
	// messages in flight; zero means DefaultGracePeriod.
	GracePeriod time.Duration
	// Cluster is the Pulsar cluster's name, for the metrics' cluster
	// label; empty means "standalone".
	Cluster string
	// Connection carries how to reach Pulsar securely (its URL is
	// PulsarURL's).
	Connection Connection
	// MetricsFile, when set, receives the instance's metrics in the text
	// format when it stops: its final counters, for a runner to read.
	MetricsFile string
}

// target is a topic an instance writes, with its producer and codec.
type target struct {
	fqn      string
	producer pulsar.Producer
	codec    *codec.Codec
	text     bool // its schema is string
}

// instance runs one replica of a function, source or sink.
type instance struct {
	plan *plan.Instance
	comp *plan.Component
	// config is the component's config as functions read it, made once.
	config  map[string]any
	client  pulsar.Client
	log     *slog.Logger
	metrics *metrics
	secret  func(string) (string, bool)
	grace   time.Duration
	// taking says the instance is subscribed (or, for a source, running):
	// /readyz answers ok only then.
	taking atomic.Bool

	inputs   map[string]*codec.Codec // by topic FQN
	patterns []patternCodec
	// onlyInput is the codec of every message when there is one input
	// topic: found without hashing each message's topic.
	onlyInput *codec.Codec
	output    *target
	publish   []*target
	logTo     *target            // the log topic, if any
	fnLog     *slog.Logger       // what functions log to: the instance log, and the log topic
	dlq       map[string]*target // by dead-letter topic
	// deadLetters sends dead letters in the order messages failed.
	deadLetters serial
	state       *stateStore
	starter     starter // a foreign function's, to start calls ahead
	// borrowInput says the function borrows its input (see
	// Registry.borrowing).
	borrowInput bool
	quiet       throttle // the log lines that may come once per message
}

type patternCodec struct {
	re    *regexp.Regexp
	codec *codec.Codec
}

// Run runs an instance until ctx is done or, for a source, until it has
// produced everything. It returns an error when the instance cannot start
// or fails for good; messages in flight are settled before it returns.
func Run(ctx context.Context, opts Options) error {
	in, err := start(ctx, opts)
	if err != nil {
		return err
	}
	defer in.close()
	in.log.Info("instance started", "kind", in.comp.Kind, "guarantee", in.comp.Guarantee, "pulsar", opts.PulsarURL)
	defer in.log.Info("instance stopped")
	defer in.quiet.flush(in.log)
	if opts.MetricsFile != "" {
		defer func() {
			if err := in.metrics.writeFile(opts.MetricsFile); err != nil {
				in.log.Warn("cannot write the final metrics", "file", opts.MetricsFile, "error", err)
			}
		}()
	}
	if opts.Listen != "" {
		stop, err := in.serve(ctx, opts.Listen)
		if err != nil {
			return err
		}
		defer stop()
	}
	if in.comp.Kind == plan.Source {
		src, err := opts.Registry.lookupSource(in.comp.Implementation.Name)
		if err != nil {
			return err
		}
		if err := in.runSource(ctx, src); err != nil || !opts.StayWhenDone {
			return err
		}
		in.log.Info("source finished; idle until stopped")
		<-ctx.Done()
		return nil
	}
	f, stop, err := in.resolve(ctx, opts.Registry)
	if err != nil {
		return err
	}
	defer stop()
	return in.consume(ctx, f)
}

func start(ctx context.Context, opts Options) (*instance, error) {
	p := opts.Plan
	c := &p.Component
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	log = log.With("component", c.Name, "instance", p.Index)
	in := &instance{plan: p, comp: c, config: c.Config.Map(), log: log, secret: opts.Secret,
		metrics: newMetrics(cmp.Or(opts.Cluster, "standalone"), p.Mesh.Tenant, p.Mesh.Namespace, c.Name, p.Index), grace: opts.GracePeriod}
	if in.secret == nil {
		in.secret = envSecret
	}
	conn := opts.Connection
	conn.URL = opts.PulsarURL
	co, err := conn.ClientOptions()
	if err != nil {
		return nil, err
	}
	co.Logger = pulsarlog.NewLoggerWithSlog(quiet(log))
	co.OperationTimeout, co.ConnectionTimeout = 30*time.Second, 10*time.Second
	client, err := pulsar.NewClient(co)
	if err != nil {
		return nil, fmt.Errorf("connecting to Pulsar at %s: %w", opts.PulsarURL, err)
	}
	in.client = client
	if err := in.open(ctx); err != nil {
		in.close()
		return nil, err
	}
	return in, nil
}

// quiet keeps the Pulsar client's chatter out of the instance log unless
// it is a warning or worse.
func quiet(log *slog.Logger) *slog.Logger {
	return slog.New(levelFloor{log.Handler(), slog.LevelWarn})
}

type levelFloor struct {
	slog.Handler
	floor slog.Level
}

func (h levelFloor) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= h.floor && h.Handler.Enabled(ctx, l)
}

// WithAttrs and WithGroup keep the floor: the client adds fields to its
// logger for every connection, producer and consumer.
func (h levelFloor) WithAttrs(as []slog.Attr) slog.Handler {
	return levelFloor{h.Handler.WithAttrs(as), h.floor}
}

func (h levelFloor) WithGroup(name string) slog.Handler {
	return levelFloor{h.Handler.WithGroup(name), h.floor}
}

func envSecret(name string) (string, bool) {
	return os.LookupEnv("MESHC_SECRET_" + strings.ToUpper(name))
}

// open makes the codecs, producers and state the component needs.
func (in *instance) open(ctx context.Context) error {
	c := in.comp
	in.inputs = map[string]*codec.Codec{}
	for _, i := range c.Inputs {
		cd, err := codec.New(i.Schema)
		if err != nil {
			return fmt.Errorf("input %s: %w", i.Topic, err)
		}
		if !i.Pattern {
			in.inputs[i.Topic] = cd
			continue
		}
		re, err := regexp.Compile("^(?:" + i.Topic + ")$")
		if err != nil {
			return fmt.Errorf("input pattern %q: %w", i.Topic, err)
		}
		in.patterns = append(in.patterns, patternCodec{re, cd})
	}
	if len(in.inputs) == 1 && len(in.patterns) == 0 {
		for _, cd := range in.inputs {
			in.onlyInput = cd
		}
	}
	var err error
	if c.Output != nil {
		if in.output, err = in.target(*c.Output); err != nil {
			return err
		}
	}
	for _, o := range c.Publishes {
		t, err := in.target(o)
		if err != nil {
			return err
		}
		in.publish = append(in.publish, t)
	}
	in.fnLog = in.log
	if c.LogTopic != "" {
		if in.logTo, err = in.target(plan.Output{Topic: c.LogTopic, Schema: plan.Schema{Type: "string"}}); err != nil {
			return err
		}
		in.fnLog = slog.New(newLogTopicHandler(in.log.Handler(), in.logTo.producer))
	}
	if c.State {
		// Only an exclusive subscription keeps every other instance out:
		// with any other, instances may be added without this one knowing
		// (a rescale, kubectl scale), so each reads what others stored.
		shared := c.Subscription.Type != "exclusive"
		in.state, err = openState(ctx, in.client, stateTopic(in.plan.Mesh.Tenant, in.plan.Mesh.Namespace, c.Name), true, shared)
	}
	return err
}

func (in *instance) target(o plan.Output) (*target, error) {
	cd, err := codec.New(o.Schema)
	if err != nil {
		return nil, fmt.Errorf("output %s: %w", o.Topic, err)
	}
	schema, err := PulsarSchema(o.Schema)
	if err != nil {
		return nil, fmt.Errorf("output %s: %w", o.Topic, err)
	}
	p, err := in.client.CreateProducer(pulsar.ProducerOptions{Topic: o.Topic, Schema: schema})
	if err != nil {
		return nil, fmt.Errorf("opening a producer on %s: %w", o.Topic, err)
	}
	return &target{fqn: o.Topic, producer: p, codec: cd, text: o.Schema.Type == "string"}, nil
}

func (in *instance) close() {
	targets := append([]*target{in.output, in.logTo}, in.publish...)
	dlqMu.Lock()
	for _, t := range in.dlq {
		targets = append(targets, t)
	}
	dlqMu.Unlock()
	for _, t := range targets {
		if t != nil {
			t.producer.Close()
		}
	}
	in.state.close()
	if in.client != nil {
		in.client.Close()
	}
}

// resolve finds the code a function or sink runs; stop releases it.
func (in *instance) resolve(ctx context.Context, reg *Registry) (f Func, stop func(), err error) {
	impl := in.comp.Implementation
	switch impl.Kind {
	case "builtin", "go":
		f, err = reg.lookupFunc(impl.Name)
		in.borrowInput = reg.borrowing[impl.Name]
		return f, func() {}, err
	case "exec", "wasm":
		return in.startForeign(ctx)
	}
	return nil, nil, fmt.Errorf("implementation kind %q is not supported by this runtime", impl.Kind)
}

// serve starts the metrics and health endpoint.
// serve answers /metrics, /healthz and /readyz on addr; the instance is
// connected by now, and stops being ready when ctx is done.
func (in *instance) serve(ctx context.Context, addr string) (stop func(), err error) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("serving metrics on %s: %w", addr, err)
	}
	ready := func() error {
		switch {
		case ctx.Err() != nil:
			return errors.New("stopping")
		case !in.taking.Load():
			return errors.New("not subscribed yet")
		}
		return nil
	}
	srv := &http.Server{Handler: in.metrics.handler(ready), ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(l)
	return func() { srv.Close() }, nil
}

// outgoing is an output being sent, with what its callback needs.
type outgoing struct {
	pulsar.ProducerMessage
	t     *target
	track *tracker
	// sentFn is sent as a function value, when made once for an outgoing
	// that is reused (see msgContexts).
	sentFn func(pulsar.MessageID, *pulsar.ProducerMessage, error)
}

// send encodes value for t and sends it as one of track's sends.
func (in *instance) send(t *target, o *outgoing, value any, track *tracker) error {
	if err := encodeFor(t, &o.ProducerMessage, value); err != nil {
		return err
	}
	o.t, o.track = t, track
	track.begin()
	// The send outlives the message's context: a message being settled is
	// never cut off.
	sent := o.sentFn
	if sent == nil {
		sent = o.sent
	}
	t.producer.SendAsync(context.Background(), &o.ProducerMessage, sent)
	return nil
}

func (o *outgoing) sent(_ pulsar.MessageID, _ *pulsar.ProducerMessage, err error) {
	if err != nil {
		err = fmt.Errorf("%w: to %s: %v", errSend, o.t.fqn, err)
	}
	o.track.end(err)
}

// encodeFor encodes value as msg's payload for t.
func encodeFor(t *target, msg *pulsar.ProducerMessage, value any) error {
	if s, ok := value.(string); ok && t.text && s != "" {
		// The string's own bytes, not a copy: the client only reads a
		// payload, and nothing else has these bytes to write.
		msg.Payload = unsafe.Slice(unsafe.StringData(s), len(s))
		return nil
	}
	payload, err := t.codec.Encode(value)
	if err != nil {
		return fmt.Errorf("%w: output for %s: %v", errOutput, t.fqn, err)
	}
	msg.Payload = payload
	return nil
}

// errOutput marks a function's output that its topic's schema refuses:
// retrying the input cannot help.
var errOutput = errors.New("output does not fit its topic's schema")
