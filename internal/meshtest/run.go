package meshtest

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"
	pulsarlog "github.com/apache/pulsar-client-go/pulsar/log"

	"github.com/meshc/meshc/backends/direct"
	"github.com/meshc/meshc/backends/local"
	"github.com/meshc/meshc/broker"
	"github.com/meshc/meshc/lang"
	"github.com/meshc/meshc/planner/plan"
	"github.com/meshc/meshc/runtime"
)

const (
	// grace is how long a stopping instance may settle what it has in
	// flight once its inputs are drained.
	grace = 5 * time.Second
	// readTimeout bounds reading the topics and state after a run.
	readTimeout = 30 * time.Second
	// logTail is how many lines of each instance's log a failure shows.
	logTail = 8
)

// Options say how cases run.
type Options struct {
	// Command returns the program and arguments that run a component's
	// instances, as local.Options.Command; nil is local.Resolve's default.
	Command func(c *plan.Component) ([]string, error)
	// Binary, when set, is the instance binary for every function: one
	// that registers the mesh's go("NAME") functions.
	Binary string
	// Run, when set, picks the cases whose names it matches.
	Run *regexp.Regexp
	// Timeout bounds each case that sets none; default DefaultTimeout.
	Timeout time.Duration
	// Logger receives the warnings of the run; nil discards them.
	Logger *slog.Logger
}

// Result is what came of one case.
type Result struct {
	File     string // the test file
	Case     string
	Pos      lang.Pos // the case's name
	Elapsed  time.Duration
	Failures []Failure
	// LogDir holds the instances' logs; kept only when the case failed.
	LogDir string
}

// Passed tells whether the case met every expectation.
func (r *Result) Passed() bool { return len(r.Failures) == 0 }

// Failure is one expectation not met, at the place that states it.
type Failure struct {
	Pos     lang.Pos
	Message string
	// Diff is go-cmp's report of the difference, (-want +got).
	Diff string
}

// Binaryless names a component of the suite's meshes that runs a Go
// function, which the standard instance binary does not have; "" if none.
func (s *Suite) Binaryless() string {
	for _, c := range s.Cases {
		for _, comp := range c.Plan.Components {
			if comp.Kind == plan.Function && comp.Implementation.Kind == "go" {
				return fmt.Sprintf("%s %s uses go(%q)", comp.Kind, comp.Name, comp.Implementation.Name)
			}
		}
	}
	return ""
}

// Run runs the suite's cases one after another, those opts.Run picks,
// tells rep of each as it starts and gives it each result as soon as it is
// known, and returns the results.
func (s *Suite) Run(ctx context.Context, opts Options, rep CaseReporter) []Result {
	var results []Result
	for _, c := range s.Cases {
		if opts.Run != nil && !opts.Run.MatchString(c.Name) {
			continue
		}
		if ctx.Err() != nil {
			break
		}
		rep.Start(s.File, c.Name)
		r := s.runCase(ctx, c, opts)
		rep.Case(&r)
		results = append(results, r)
	}
	return results
}

// caseRun is one case as it runs: its broker, client and results.
type caseRun struct {
	suite  *Suite
	c      *Case
	plan   *plan.Plan // functions only
	client pulsar.Client
	res    *Result
}

func (r *caseRun) fail(pos lang.Pos, diff, format string, args ...any) {
	r.res.Failures = append(r.res.Failures, Failure{Pos: pos, Message: fmt.Sprintf(format, args...), Diff: diff})
}

func (s *Suite) runCase(ctx context.Context, c *Case, opts Options) Result {
	start := time.Now()
	res := Result{File: s.File, Case: c.Name, Pos: c.Pos}
	r := &caseRun{suite: s, c: c, plan: functionsOnly(c.Plan, opts.Binary), res: &res}
	logDir, err := os.MkdirTemp("", "meshtest-"+c.Name+"-")
	if err == nil {
		res.LogDir = logDir
		err = r.run(ctx, opts, logDir)
	}
	if err != nil {
		r.fail(c.Pos, "", "%v", err)
	}
	res.Elapsed = time.Since(start)
	if res.Passed() {
		os.RemoveAll(logDir)
		res.LogDir = ""
	}
	return res
}

// functionsOnly is p without its sources and sinks, which tests do not
// run, with the instance binary given.
func functionsOnly(p *plan.Plan, binary string) *plan.Plan {
	q := *p
	q.Components = nil
	for _, c := range p.Components {
		if c.Kind != plan.Function {
			continue
		}
		if binary != "" {
			c.Runtime.Binary = binary
		}
		q.Components = append(q.Components, c)
	}
	return &q
}

// run runs the case on a broker of its own and checks what its functions
// left: errors are failures of the run itself.
func (r *caseRun) run(ctx context.Context, opts Options, logDir string) error {
	b, err := broker.New(broker.Config{Listen: "127.0.0.1:0", AdminListen: "127.0.0.1:0"})
	if err != nil {
		return err
	}
	if err := b.Start(ctx); err != nil {
		return fmt.Errorf("starting the embedded broker: %w", err)
	}
	defer b.Close()
	co := pulsar.ClientOptions{URL: b.URL(), Logger: pulsarlog.NewLoggerWithSlog(slog.New(slog.DiscardHandler))}
	if r.client, err = pulsar.NewClient(co); err != nil {
		return err
	}
	defer r.client.Close()

	timeout := cmp.Or(r.c.Timeout, opts.Timeout, DefaultTimeout)
	runCtx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if err := r.putState(runCtx); err != nil {
		return err
	}
	dir, err := filepath.Abs(filepath.Dir(r.suite.File)) // the mesh's folder too
	if err != nil {
		return err
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	mesh, err := local.New(r.plan, local.Options{PulsarURL: b.URL(), AdminURL: b.AdminURL(), LogDir: logDir,
		Dir: dir, Command: opts.Command, Grace: grace, Logger: logger})
	if err != nil {
		return err
	}
	if err := mesh.Start(runCtx, ""); err != nil {
		mesh.Stop("")
		return err
	}
	if err := r.send(runCtx); err != nil {
		mesh.Stop("")
		return err
	}
	mesh.Shutdown(runCtx)
	if runCtx.Err() != nil && ctx.Err() == nil {
		return fmt.Errorf("%w: its functions had not read all their inputs after %v (set timeout = ... in the case if it needs longer)%s",
			ErrTimeout, timeout, logTails(logDir))
	}
	readCtx, cancelRead := context.WithTimeout(ctx, readTimeout)
	defer cancelRead()
	return r.check(readCtx)
}

func (r *caseRun) putState(ctx context.Context) error {
	for _, e := range r.c.State {
		value, counter := "", e.Counter != nil
		if counter {
			value = strconv.FormatInt(*e.Counter, 10)
		} else {
			value = *e.Value
		}
		if err := direct.PutState(ctx, r.client, r.c.Plan, e.Function, e.Key, value, counter); err != nil {
			return fmt.Errorf("setting the state of %s: %w", e.Function, err)
		}
	}
	return nil
}

// send writes the case's messages, in the order written, each once the
// broker has it.
func (r *caseRun) send(ctx context.Context) error {
	producers := map[string]pulsar.Producer{}
	defer func() {
		for _, p := range producers {
			p.Close()
		}
	}()
	for _, s := range r.c.Sends {
		p, ok := producers[s.Topic.FQN]
		if !ok {
			// The producer declares the topic's schema, as the mesh's own
			// producers do, so that the broker lets its readers check it.
			schema, err := runtime.PulsarSchema(s.Topic.Schema)
			if err != nil {
				return fmt.Errorf("topic %s: %w", s.Topic.Name, err)
			}
			if p, err = r.client.CreateProducer(pulsar.ProducerOptions{Topic: s.Topic.FQN, Schema: schema}); err != nil {
				return fmt.Errorf("writing to %s: %w", s.Topic.Name, err)
			}
			producers[s.Topic.FQN] = p
		}
		for _, m := range s.Messages {
			msg := &pulsar.ProducerMessage{Payload: m.Value.([]byte), Properties: m.Properties, EventTime: m.EventTime}
			if m.Key != nil {
				msg.Key = *m.Key
			}
			if _, err := p.Send(ctx, msg); err != nil {
				return fmt.Errorf("sending to %s: %w", s.Topic.Name, err)
			}
		}
	}
	return nil
}

// logTails shows the end of each instance log that has anything.
func logTails(dir string) string {
	logs, _ := filepath.Glob(filepath.Join(dir, "*.log"))
	slices.Sort(logs)
	var b strings.Builder
	for _, path := range logs {
		data, err := os.ReadFile(path)
		if err != nil || len(strings.TrimSpace(string(data))) == 0 {
			continue
		}
		lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
		fmt.Fprintf(&b, "\n%s (last lines):", filepath.Base(path))
		for _, l := range lines[max(0, len(lines)-logTail):] {
			b.WriteString("\n  " + l)
		}
	}
	return b.String()
}

// received is a message read back from a topic.
type received struct {
	Key        string
	Value      any
	Properties map[string]string
}

// readAll reads every message of a topic, partition by partition.
func (r *caseRun) readAll(ctx context.Context, t plan.Topic) ([]received, error) {
	names := []string{t.FQN}
	if t.Partitions > 0 {
		names = nil
		for i := range t.Partitions {
			names = append(names, fmt.Sprintf("%s-partition-%d", t.FQN, i))
		}
	}
	cd, err := codecFor(t.Schema)
	if err != nil {
		return nil, err
	}
	var all []received
	for _, name := range names {
		reader, err := r.client.CreateReader(pulsar.ReaderOptions{Topic: name, StartMessageID: pulsar.EarliestMessageID()})
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", t.Name, err)
		}
		for reader.HasNext() {
			msg, err := reader.Next(ctx)
			if err != nil {
				reader.Close()
				return nil, fmt.Errorf("reading %s: %w", t.Name, err)
			}
			v, err := cd.Decode(msg.Payload())
			if err != nil {
				v = fmt.Sprintf("(a payload that does not fit the topic: %v: %q)", err, msg.Payload())
			}
			all = append(all, received{Key: msg.Key(), Value: v, Properties: msg.Properties()})
		}
		reader.Close()
	}
	return all, nil
}

// queryState reads one key of a function's state for a failure message.
func (r *caseRun) queryState(ctx context.Context, fn, key string) (string, error) {
	st, err := direct.QueryState(ctx, r.client, r.c.Plan, fn, key)
	switch {
	case errors.Is(err, direct.ErrNoKey):
		return "(no such key)", nil
	case err != nil:
		return "", err
	case st.NumberValue != nil:
		return "counter " + strconv.FormatInt(*st.NumberValue, 10), nil
	}
	return "value " + strconv.Quote(st.StringValue), nil
}

// deadLetterDefault is the topic a function without a dead_letter sends
// its failures from one input to, as the runtime names it.
func deadLetterDefault(c *plan.Component, in plan.Input) plan.Topic {
	return plan.Topic{Name: path(in.Topic) + "-" + c.Subscription.Name + "-DLQ",
		FQN: in.Topic + "-" + c.Subscription.Name + "-DLQ", Schema: in.Schema}
}

func path(fqn string) string { return fqn[strings.LastIndex(fqn, "/")+1:] }
