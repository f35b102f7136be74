package local

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"

	"github.com/meshc/meshc/backends/direct"
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

	mu      sync.Mutex     // guards closing against streams starting
	closing chan struct{}  // closed by Close: log streams end
	streams sync.WaitGroup // the log streams being followed
}

// NewServer serves m's control API; delete calls shutdown.
func NewServer(m *Mesh, shutdown func()) *Server {
	return &Server{mesh: m, shutdown: shutdown, closing: make(chan struct{})}
}

// Close ends the log streams being followed, after the lines written so
// far, and closes the server's Pulsar client. Called before the HTTP
// server closes its connections, the streams end whole.
func (s *Server) Close() {
	s.endStreams()
	if s.client != nil {
		s.client.Close()
	}
}

// pulsar returns the server's client, made on first use.
func (s *Server) pulsar() (pulsar.Client, error) {
	s.once.Do(func() {
		s.client, s.clientErr = direct.Dial(s.mesh.opts.connection())
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
	mux.HandleFunc("POST /v1/update", func(w http.ResponseWriter, r *http.Request) {
		p, err := plan.Decode([]byte(r.FormValue("plan")))
		if err != nil {
			reply(w, nil, err)
			return
		}
		ch, err := s.mesh.Update(r.Context(), p)
		reply(w, ch, err)
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
	sent, outs, err := s.mesh.Trigger(r.Context(), client, name, topic, r.FormValue("value"), timeout)
	reply(w, TriggerResult{Outputs: outs, Sent: sent}, err)
}

func (s *Server) queryState(w http.ResponseWriter, r *http.Request) {
	client, err := s.pulsar()
	if err != nil {
		reply(w, nil, err)
		return
	}
	st, err := s.mesh.QueryState(r.Context(), client, r.FormValue("component"), r.FormValue("key"))
	if errors.Is(err, direct.ErrNoKey) {
		err = notFound{err}
	}
	reply(w, st, err)
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

// Update makes the run run p (see Mesh.Update).
func (c *Client) Update(ctx context.Context, p *plan.Plan) (Changes, error) {
	data, err := plan.Encode(p)
	if err != nil {
		return Changes{}, err
	}
	var ch Changes
	return ch, c.call(ctx, http.MethodPost, "/v1/update", form{"plan": string(data)}, &ch)
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
func (c *Client) QueryState(ctx context.Context, component, key string) (direct.State, error) {
	var res direct.State
	return res, c.call(ctx, http.MethodGet, "/v1/state", form{"component": component, "key": key}, &res)
}

// PutState sets one key of a function's state.
func (c *Client) PutState(ctx context.Context, component, key, value string, counter bool) error {
	return c.call(ctx, http.MethodPut, "/v1/state", form{"component": component, "key": key, "value": value, "counter": fmt.Sprint(counter)}, nil)
}

// Logs copies a component's instance logs to w: the last opts.Tail lines
// of each, then, with opts.Follow, the lines written after, until ctx ends
// (nil) or the run does (ErrStopped).
func (c *Client) Logs(ctx context.Context, component string, opts LogOptions, w io.Writer) error {
	f := form{"component": component, "tail": strconv.Itoa(opts.Tail), "follow": strconv.FormatBool(opts.Follow)}
	resp, err := c.do(ctx, http.MethodGet, "/v1/logs", f)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, err = io.Copy(w, resp.Body)
	switch {
	case !opts.Follow:
		return err
	case ctx.Err() != nil:
		return nil // the caller stopped following
	case err == nil:
		return ErrStopped // the server ends a stream whole only when it closes
	case !c.answers(ctx):
		return ErrStopped // its connections were cut as it stopped
	}
	return fmt.Errorf("following the logs of %s: %w; the mesh still runs: follow them again", component, err)
}

// answers tells whether the mesh's control API still answers.
func (c *Client) answers(ctx context.Context) bool {
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	_, err := c.Status(ctx, "")
	return err == nil
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
