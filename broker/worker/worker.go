package worker

import (
	"cmp"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"
	plog "github.com/apache/pulsar-client-go/pulsar/log"
)

// Options configures a Worker. The zero value of each field means its
// default.
type Options struct {
	// Dir keeps the registered functions, their packages and the
	// instances' logs, so that a restarted worker brings its functions
	// back; empty means a temporary directory removed by Close.
	Dir string
	// MaxPackageBytes bounds an uploaded or downloaded package
	// (default DefaultMaxPackageBytes).
	MaxPackageBytes int64
	// ClusterName is the cluster the instances are told they run in
	// (default "standalone", as Pulsar's standalone).
	ClusterName string
	// MinRestartBackoff is the first wait before an instance that exited
	// runs again (default DefaultMinRestartBackoff).
	MinRestartBackoff time.Duration
	// Client is how the worker's own client reaches the broker, for
	// trigger and state; its URL is set by Start, and its Logger is
	// quiet unless given.
	Client pulsar.ClientOptions
	// AuthPlugin and AuthParams are how the worker's own client (trigger,
	// state, removing subscriptions) and its instances authenticate to the
	// broker, as Pulsar's worker configuration names them
	// (clientAuthenticationPlugin and clientAuthenticationParameters, such
	// as "token" and "file:///PATH"); the instances get them in their
	// instance configuration. TrustCertsFile is tlsTrustCertsFilePath.
	AuthPlugin, AuthParams, TrustCertsFile string
	// Env is added to the environment each instance inherits.
	Env    []string
	Logger *slog.Logger
}

// Worker registers functions and runs their instances; see the package
// documentation.
type Worker struct {
	opts Options
	log  *slog.Logger
	dir  string
	tmp  bool // dir is removed by Close
	// probe looks at the instances' endpoints; admin calls the broker's
	// admin API, with the worker's credentials.
	probe, admin *http.Client

	mu         sync.Mutex
	started    bool
	closed     bool
	serviceURL string
	adminURL   string
	funcs      map[string]*function
	client     pulsar.Client // made on first use
}

// function is a registered function and its running instances.
type function struct {
	// op is held through an operation that changes the function (update,
	// delete, start, stop, restart), so that one waits for another while
	// the worker's lock is free; rec and instances change under both.
	op        sync.Mutex
	rec       *record
	instances []*instance // by instance id; nil where stopped
}

// New makes a worker that serves nothing until Start.
func New(opts Options) (*Worker, error) {
	w := &Worker{opts: opts, log: cmp.Or(opts.Logger, slog.New(slog.DiscardHandler)), funcs: map[string]*function{},
		probe: &http.Client{Timeout: probeTimeout}, admin: &http.Client{Timeout: callTimeout}}
	w.opts.MaxPackageBytes = cmp.Or(opts.MaxPackageBytes, DefaultMaxPackageBytes)
	w.opts.ClusterName = cmp.Or(opts.ClusterName, "standalone")
	w.opts.MinRestartBackoff = cmp.Or(opts.MinRestartBackoff, DefaultMinRestartBackoff)
	if w.opts.Client.Logger == nil {
		w.opts.Client.Logger = plog.NewLoggerWithSlog(slog.New(slog.DiscardHandler))
	}
	if opts.AuthPlugin != "" {
		params, err := goAuthParams(opts.AuthParams)
		if err != nil {
			return nil, fmt.Errorf("the Functions worker's authentication %s: %w", opts.AuthPlugin, err)
		}
		a, err := pulsar.NewAuthentication(opts.AuthPlugin, params)
		if err != nil {
			return nil, fmt.Errorf("the Functions worker's authentication %s: %w", opts.AuthPlugin, err)
		}
		w.opts.Client.Authentication = a
	}
	if opts.AuthPlugin != "" || opts.TrustCertsFile != "" {
		var err error
		if w.admin, err = adminHTTP(opts.AuthPlugin, opts.AuthParams, opts.TrustCertsFile); err != nil {
			return nil, err
		}
	}
	if opts.TrustCertsFile != "" {
		w.opts.Client.TLSTrustCertsFilePath, w.opts.Client.TLSValidateHostname = opts.TrustCertsFile, true
	}
	w.dir = opts.Dir
	return w, nil
}

// Start serves the API with the broker at serviceURL (its admin API at
// adminURL, for removing subscriptions) and starts the instances of every
// function registered before.
func (w *Worker) Start(serviceURL, adminURL string) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	var recs []*record
	if w.dir != "" {
		if err := os.MkdirAll(w.dir, 0o755); err != nil {
			return fmt.Errorf("making the Functions worker's directory: %w", err)
		}
		var err error
		if recs, err = loadRecords(w.dir); err != nil {
			return err
		}
	}
	w.serviceURL, w.adminURL = serviceURL, adminURL
	for _, r := range recs {
		f := &function{rec: r}
		w.funcs[r.fqfn()] = f
		if err := w.startInstances(f); err != nil {
			return err
		}
	}
	w.started = true
	w.log.Info("functions worker started", "dir", w.dir, "functions", len(recs))
	return nil
}

// Close stops every instance; the functions stay registered for the next
// Start.
func (w *Worker) Close() error {
	w.mu.Lock()
	w.closed = true
	var running []*instance
	for _, f := range w.funcs {
		running = append(running, f.instances...)
	}
	client := w.client
	w.client = nil
	w.mu.Unlock()
	haltAll(running)
	if client != nil {
		client.Close()
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.tmp {
		w.tmp = false
		return os.RemoveAll(w.dir)
	}
	return nil
}

// ensureDir makes the temporary directory of a worker given none, on
// first need, so that a broker whose worker is never used writes nothing;
// under w.mu.
func (w *Worker) ensureDir() error {
	if w.dir != "" {
		return nil
	}
	d, err := os.MkdirTemp("", "meshc-functions-")
	if err != nil {
		return fmt.Errorf("making the Functions worker's directory: %w", err)
	}
	w.dir, w.tmp = d, true
	return nil
}

// usable returns errUnavailable before Start and after Close, as Pulsar's
// worker answers while it is not initialized.
func (w *Worker) usable() error {
	if !w.started || w.closed {
		return fail(errUnavailable, nil, "Function worker service is not done initializing. Please try again in a little while.")
	}
	return nil
}

// lookup returns the function of that name, under w.mu.
func (w *Worker) lookup(tenant, namespace, name string) (*function, error) {
	if err := w.usable(); err != nil {
		return nil, err
	}
	f, ok := w.funcs[fqfn(tenant, namespace, name)]
	if !ok {
		return nil, fail(errNotFound, nil, fmt.Sprintf("Function %s doesn't exist", name))
	}
	return f, nil
}

// startInstances starts every instance of f not stopped through the API.
func (w *Worker) startInstances(f *function) error {
	n := max(f.rec.Config.Parallelism, 1)
	f.instances = make([]*instance, n)
	for id := range n {
		if slices.Contains(f.rec.Stopped, id) {
			continue
		}
		if err := w.startInstance(f, id); err != nil {
			return err
		}
	}
	return nil
}

// startInstance starts instance id of f as Pulsar's process runtime does a
// Go instance: PACKAGE -instance-conf JSON, its output in
// logs/TENANT/NAMESPACE/NAME/NAME-ID.log.
func (w *Worker) startInstance(f *function, id int) error {
	r := f.rec
	logDir := filepath.Join(w.dir, "logs", r.Config.Tenant, r.Config.Namespace, r.Config.Name)
	if err := os.MkdirAll(logDir, 0o755); err != nil {
		return fmt.Errorf("making the log folder of %s: %w", r.fqfn(), err)
	}
	ic := instanceConf(r, id, w.serviceURL, w.opts.ClusterName, 0, 0)
	ic.ClientAuthenticationPlugin, ic.ClientAuthenticationParameters = w.opts.AuthPlugin, w.opts.AuthParams
	ic.TLSTrustCertsFilePath = w.opts.TrustCertsFile
	command := func() ([]string, int, error) {
		var err error
		if ic.Port, err = freePort(); err != nil {
			return nil, 0, err
		}
		if ic.MetricsPort, err = freePort(); err != nil {
			return nil, 0, err
		}
		conf, err := json.Marshal(ic)
		return []string{r.Package, "-instance-conf", string(conf)}, ic.MetricsPort, err
	}
	in := &instance{
		id: id, command: command, env: append(os.Environ(), w.opts.Env...),
		logPath: filepath.Join(logDir, r.Config.Name+"-"+strconv.Itoa(id)+".log"),
		log:     w.log.With("function", r.fqfn(), "instance", id), minBackoff: w.opts.MinRestartBackoff,
	}
	in.run()
	f.instances[id] = in
	return nil
}

// haltAll stops the given instances at once and waits for them.
func haltAll(ins []*instance) {
	var wg sync.WaitGroup
	for _, in := range ins {
		if in != nil {
			wg.Go(in.halt)
		}
	}
	wg.Wait()
}

// save writes the registry, under w.mu.
func (w *Worker) save() error {
	if err := w.ensureDir(); err != nil {
		return err
	}
	recs := make(map[string]*record, len(w.funcs))
	for k, f := range w.funcs {
		recs[k] = f.rec
	}
	return saveRecords(w.dir, recs)
}
