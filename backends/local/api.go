package local

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"sync"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"
	pulsarlog "github.com/apache/pulsar-client-go/pulsar/log"

	"github.com/meshc/meshc/planner/plan"
)

// Server is the control API of a running mesh, served on 127.0.0.1 for the
// lifecycle commands: JSON in and out, errors as {"error": "..."}.
type Server struct {
	mesh     *Mesh
	shutdown func() // ends the run, for delete

	once      sync.Once
	client    pulsar.Client
	clientErr error
}

// NewServer serves m's control API; delete calls shutdown.
func NewServer(m *Mesh, shutdown func()) *Server { return &Server{mesh: m, shutdown: shutdown} }

// Close closes the server's Pulsar client.
func (s *Server) Close() {
	if s.client != nil {
		s.client.Close()
	}
}

// pulsar returns the server's client, made on first use.
func (s *Server) pulsar() (pulsar.Client, error) {
	s.once.Do(func() {
		s.client, s.clientErr = pulsar.NewClient(pulsar.ClientOptions{URL: s.mesh.opts.PulsarURL,
			Logger: pulsarlog.NewLoggerWithSlog(slog.New(slog.DiscardHandler))})
	})
	return s.client, s.clientErr
}

// Handler returns the API's routes.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/plan", func(w http.ResponseWriter, r *http.Request) { reply(w, s.mesh.plan, nil) })
	mux.HandleFunc("GET /v1/status", func(w http.ResponseWriter, r *http.Request) {
		st, err := s.mesh.Status(r.FormValue("component"))
		reply(w, st, err)
	})
	mux.HandleFunc("GET /v1/stats", func(w http.ResponseWriter, r *http.Request) {
		st, err := s.mesh.Stats(r.Context(), r.FormValue("component"))
		reply(w, st, err)
	})
	mux.HandleFunc("POST /v1/start", func(w http.ResponseWriter, r *http.Request) {
		reply(w, nil, s.mesh.Start(r.Context(), r.FormValue("component")))
	})
	mux.HandleFunc("POST /v1/stop", func(w http.ResponseWriter, r *http.Request) {
		reply(w, nil, s.mesh.Stop(r.FormValue("component")))
	})
	mux.HandleFunc("POST /v1/restart", func(w http.ResponseWriter, r *http.Request) {
		reply(w, nil, s.mesh.Restart(r.Context(), r.FormValue("component")))
	})
	mux.HandleFunc("POST /v1/delete", func(w http.ResponseWriter, r *http.Request) {
		reply(w, nil, nil)
		go s.shutdown()
	})
	mux.HandleFunc("POST /v1/trigger", s.trigger)
	mux.HandleFunc("GET /v1/state", s.queryState)
	mux.HandleFunc("PUT /v1/state", s.putState)
	mux.HandleFunc("GET /v1/logs", s.logs)
	return mux
}

// TriggerResult is what a trigger returns.
type TriggerResult struct {
	Outputs []string `json:"outputs"`
	Sent    string   `json:"sent"` // the topic the value went to
}

func (s *Server) trigger(w http.ResponseWriter, r *http.Request) {
	timeout, err := time.ParseDuration(r.FormValue("timeout"))
	if err != nil {
		timeout = 10 * time.Second
	}
	client, err := s.pulsar()
	if err != nil {
		reply(w, nil, err)
		return
	}
	name, topic := r.FormValue("component"), r.FormValue("topic")
	outs, err := s.mesh.Trigger(r.Context(), client, name, topic, r.FormValue("value"), timeout)
	res := TriggerResult{Outputs: outs}
	if c, ok := s.mesh.comps[name]; ok && err == nil {
		in, _ := input(c.plan, topic)
		res.Sent = in.Topic
	}
	reply(w, res, err)
}

// StateResult is one key of a function's state, in the shape of Pulsar's
// FunctionState.
type StateResult struct {
	Key         string `json:"key"`
	StringValue string `json:"stringValue,omitempty"`
	NumberValue *int64 `json:"numberValue,omitempty"`
}

func (s *Server) queryState(w http.ResponseWriter, r *http.Request) {
	client, err := s.pulsar()
	if err != nil {
		reply(w, nil, err)
		return
	}
	key := r.FormValue("key")
	e, ok, err := s.mesh.QueryState(r.Context(), client, r.FormValue("component"), key)
	if err == nil && !ok {
		err = notFound{fmt.Errorf("%s has no state under key %q", r.FormValue("component"), key)}
	}
	res := StateResult{Key: key, StringValue: string(e.Value)}
	if e.Counter {
		res.NumberValue = &e.Number
	}
	reply(w, res, err)
}

func (s *Server) putState(w http.ResponseWriter, r *http.Request) {
	client, err := s.pulsar()
	if err != nil {
		reply(w, nil, err)
		return
	}
	err = s.mesh.PutState(r.Context(), client, r.FormValue("component"), r.FormValue("key"), r.FormValue("value"), r.FormValue("counter") == "true")
	reply(w, nil, err)
}

// logs writes the standard error of a component's instances, each line
// prefixed with the instance's name when there are several.
func (s *Server) logs(w http.ResponseWriter, r *http.Request) {
	name := r.FormValue("component")
	st, err := s.mesh.Status(name)
	if err != nil || name == "" {
		reply(w, nil, errors.Join(err, errorIf(name == "", "name the function whose logs to show")))
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	for _, i := range st {
		prefix := ""
		if len(st) > 1 {
			prefix = fmt.Sprintf("%s-%d | ", i.Component, i.Index)
		}
		copyLines(w, i.Log, prefix)
	}
}

func errorIf(cond bool, msg string) error {
	if cond {
		return errors.New(msg)
	}
	return nil
}

func copyLines(w io.Writer, file, prefix string) {
	f, err := os.Open(file)
	if err != nil {
		return // an instance that never started has no log yet
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		fmt.Fprintf(w, "%s%s\n", prefix, sc.Text())
	}
}

// notFound marks an error answered with 404.
type notFound struct{ error }

func (e notFound) Unwrap() error { return e.error }

type apiError struct {
	Error string `json:"error"`
}

func reply(w http.ResponseWriter, v any, err error) {
	w.Header().Set("Content-Type", "application/json")
	if err != nil {
		code := http.StatusBadRequest
		if errors.As(err, new(notFound)) {
			code = http.StatusNotFound
		}
		w.WriteHeader(code)
		json.NewEncoder(w).Encode(apiError{err.Error()})
		return
	}
	if v == nil {
		v = struct{}{}
	}
	json.NewEncoder(w).Encode(v)
}

// Client calls the control API of a running mesh.
type Client struct {
	base string
	http *http.Client
}

// Dial returns a client of the mesh that info describes.
func Dial(info RunInfo) *Client {
	return &Client{base: "http://" + info.Addr, http: &http.Client{}}
}

// Plan returns the running mesh's plan.
func (c *Client) Plan(ctx context.Context) (*plan.Plan, error) {
	var p plan.Plan
	return &p, c.call(ctx, http.MethodGet, "/v1/plan", nil, &p)
}

// Status reports the instances of one component, or of all for "".
func (c *Client) Status(ctx context.Context, component string) ([]InstanceStatus, error) {
	var st []InstanceStatus
	return st, c.call(ctx, http.MethodGet, "/v1/status", form{"component": component}, &st)
}

// Stats reports the counters of one component, or of all for "".
func (c *Client) Stats(ctx context.Context, component string) (map[string]Counters, error) {
	var st map[string]Counters
	return st, c.call(ctx, http.MethodGet, "/v1/stats", form{"component": component}, &st)
}

// Do runs a lifecycle action: start, stop, restart or delete.
func (c *Client) Do(ctx context.Context, action, component string) error {
	return c.call(ctx, http.MethodPost, "/v1/"+action, form{"component": component}, nil)
}

// Trigger sends value to a component and returns its outputs.
func (c *Client) Trigger(ctx context.Context, component, topic, value string, timeout time.Duration) (TriggerResult, error) {
	var res TriggerResult
	f := form{"component": component, "topic": topic, "value": value, "timeout": timeout.String()}
	return res, c.call(ctx, http.MethodPost, "/v1/trigger", f, &res)
}

// QueryState reads one key of a function's state.
func (c *Client) QueryState(ctx context.Context, component, key string) (StateResult, error) {
	var res StateResult
	return res, c.call(ctx, http.MethodGet, "/v1/state", form{"component": component, "key": key}, &res)
}

// PutState sets one key of a function's state.
func (c *Client) PutState(ctx context.Context, component, key, value string, counter bool) error {
	return c.call(ctx, http.MethodPut, "/v1/state", form{"component": component, "key": key, "value": value, "counter": fmt.Sprint(counter)}, nil)
}

// Logs copies a component's instance logs to w.
func (c *Client) Logs(ctx context.Context, component string, w io.Writer) error {
	resp, err := c.do(ctx, http.MethodGet, "/v1/logs", form{"component": component})
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, err = io.Copy(w, resp.Body)
	return err
}

type form map[string]string

func (c *Client) do(ctx context.Context, method, path string, f form) (*http.Response, error) {
	q := url.Values{}
	for k, v := range f {
		q.Set(k, v)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path+"?"+q.Encode(), nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("the local mesh does not answer at %s (has it stopped?): %w", c.base, err)
	}
	if resp.StatusCode >= 300 {
		defer resp.Body.Close()
		var e apiError
		if json.NewDecoder(resp.Body).Decode(&e) != nil || e.Error == "" {
			e.Error = resp.Status
		}
		return nil, errors.New(e.Error)
	}
	return resp, nil
}

func (c *Client) call(ctx context.Context, method, path string, f form, out any) error {
	resp, err := c.do(ctx, method, path, f)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if out == nil {
		return nil
	}
	return json.NewDecoder(resp.Body).Decode(out)
}
