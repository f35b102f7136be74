package worker

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"time"

	"github.com/apache/pulsar-client-go/pulsaradmin/pkg/utils"
)

// upload is the package part of a register or update: a file already
// saved by the handler, or a URL.
type upload struct {
	file     string // temporary file holding the uploaded package
	fileName string // its name as the client sent it
	url      string
}

// validName is what Pulsar accepts as a tenant, namespace or function
// name (NamedEntity.checkName).
var validName = regexp.MustCompile(`^[-=:.\w]+$`)

// checkConfig fills in a FunctionConfig from its path and refuses what
// Pulsar's worker refuses for a Go function (FunctionConfigUtils.validate,
// doGolangChecks), with Pulsar's reasons.
func checkConfig(fc *utils.FunctionConfig, tenant, namespace, name string) error {
	// The path takes precedence over the configuration, as in Pulsar.
	fc.Tenant, fc.Namespace, fc.Name = tenant, namespace, name
	for _, s := range []struct{ what, v string }{{"Tenant", tenant}, {"Namespace", namespace}, {"Function", name}} {
		if !validName.MatchString(s.v) {
			return fail(errBadRequest, nil, fmt.Sprintf("%s name %q is invalid: use letters, digits and - = : . _", s.what, s.v))
		}
	}
	if fc.Jar != nil || fc.Py != nil {
		return fail(errBadRequest, nil, fmt.Sprintf("Function %s cannot be admitted:- this worker runs Go functions only (set go, not jar or py)", name))
	}
	fc.Runtime = utils.GoRuntime
	if fc.Parallelism == 0 {
		fc.Parallelism = 1
	}
	if fc.Parallelism < 0 {
		return fail(errBadRequest, nil, "Function parallelism must be a positive number")
	}
	if fc.ProcessingGuarantees == "" {
		fc.ProcessingGuarantees = atLeastOnce
	}
	if _, ok := guaranteeNumber[fc.ProcessingGuarantees]; !ok {
		return fail(errBadRequest, nil, fmt.Sprintf("Invalid processingGuarantees %q: use ATLEAST_ONCE, ATMOST_ONCE, EFFECTIVELY_ONCE or MANUAL", fc.ProcessingGuarantees))
	}
	if err := checkCommon(fc); err != nil {
		return err
	}
	switch {
	case fc.ProcessingGuarantees == effectivelyOnce:
		return fail(errBadRequest, nil, "Effectively-once processing guarantees not yet supported in Go function")
	case fc.WindowConfig != nil:
		return fail(errBadRequest, nil, "Windowing is not supported in Go function yet")
	case fc.MaxMessageRetries != nil && *fc.MaxMessageRetries >= 0:
		return fail(errBadRequest, nil, "Message retries not yet supported in Go function")
	case fc.RetainKeyOrdering:
		return fail(errBadRequest, nil, "Retain Key Orderering not yet supported in Go function")
	}
	return nil
}

// checkCommon are the checks of Pulsar's FunctionConfigUtils.doCommonChecks
// that apply to a Go function, with Pulsar's reasons.
func checkCommon(fc *utils.FunctionConfig) error {
	specs := inputSpecs(fc)
	if len(specs) == 0 {
		return fail(errBadRequest, nil, "No input topic(s) specified for the function")
	}
	for t, spec := range specs {
		if _, err := utils.GetTopicName(t); err != nil && !spec.RegexPattern {
			return fail(errBadRequest, nil, fmt.Sprintf("Input topic %s is invalid", t))
		}
	}
	for _, t := range []struct{ what, name string }{{"Output topic", fc.Output}, {"LogTopic topic", fc.LogTopic}, {"DeadLetter topic", fc.DeadLetterTopic}} {
		if _, err := utils.GetTopicName(t.name); t.name != "" && err != nil {
			return fail(errBadRequest, nil, fmt.Sprintf("%s %s is invalid", t.what, t.name))
		}
	}
	if _, clash := specs[fc.Output]; clash && fc.Output != "" {
		return fail(errBadRequest, nil, fmt.Sprintf("Output topic %s is also being used as an input topic (topics must be one or the other)", fc.Output))
	}
	if r := fc.Resources; r != nil {
		switch {
		case r.CPU <= 0:
			return fail(errBadRequest, nil, "The cpu allocation for the function must be positive")
		case r.RAM <= 0:
			return fail(errBadRequest, nil, "The ram allocation for the function must be positive")
		case r.Disk <= 0:
			return fail(errBadRequest, nil, "The disk allocation for the function must be positive")
		}
	}
	retries := fc.MaxMessageRetries != nil && *fc.MaxMessageRetries >= 0
	switch {
	case fc.TimeoutMs != nil && *fc.TimeoutMs <= 0:
		return fail(errBadRequest, nil, "Function timeout must be a positive number")
	case fc.TimeoutMs != nil && fc.ProcessingGuarantees != atLeastOnce:
		return fail(errBadRequest, nil, "Message timeout can only be specified with processing guarantee is ATLEAST_ONCE")
	case retries && fc.ProcessingGuarantees == effectivelyOnce:
		return fail(errBadRequest, nil, "MaxMessageRetries and Effectively once don't gel well")
	case !retries && fc.DeadLetterTopic != "":
		return fail(errBadRequest, nil, "Dead Letter Topic specified, however max retries is set to infinity")
	case fc.RetainKeyOrdering && fc.RetainOrdering:
		return fail(errBadRequest, nil, "Only one of retain ordering or retain key ordering can be set")
	}
	return nil
}

// mergeUpdate is Pulsar's FunctionConfigUtils.validateUpdate: what an
// update leaves out keeps its value, and what may not change is refused
// with Pulsar's reasons. Fields pulsaradmin always sends (the booleans)
// count as given.
func mergeUpdate(old, upd utils.FunctionConfig) (utils.FunctionConfig, error) {
	m := old
	m.InputSpecs = maps.Clone(old.InputSpecs)
	if m.InputSpecs == nil {
		m.InputSpecs = map[string]utils.ConsumerConfig{}
	}
	if upd.ClassName != "" {
		m.ClassName = upd.ClassName
	}
	if upd.Jar != nil {
		m.Jar = upd.Jar
	}
	if upd.Go != nil {
		m.Go = upd.Go
	}
	existing := inputSpecs(&old)
	for t, spec := range inputSpecs(&upd) {
		was, ok := existing[t]
		switch {
		case !ok:
			return m, fail(errBadRequest, nil, "Input Topics cannot be altered")
		case was.RegexPattern != spec.RegexPattern:
			return m, fail(errBadRequest, nil, fmt.Sprintf("isRegexPattern for input topic %s cannot be altered", t))
		}
		m.InputSpecs[t] = spec
	}
	type refusal struct {
		changed bool
		reason  string
	}
	for _, r := range []refusal{
		{upd.OutputSerdeClassName != "" && upd.OutputSerdeClassName != old.OutputSerdeClassName, "Output Serde mismatch"},
		{upd.OutputSchemaType != "" && upd.OutputSchemaType != old.OutputSchemaType, "Output Schema mismatch"},
		{upd.ProcessingGuarantees != "" && upd.ProcessingGuarantees != old.ProcessingGuarantees, "Processing Guarantees cannot be altered"},
		{upd.RetainOrdering != old.RetainOrdering, "Retain Ordering cannot be altered"},
		{upd.RetainKeyOrdering != old.RetainKeyOrdering, "Retain Key Ordering cannot be altered"},
		{upd.Runtime != "" && upd.Runtime != old.Runtime, "Runtime cannot be altered"},
		{upd.AutoAck != old.AutoAck, "AutoAck cannot be altered"},
		{upd.SubName != "" && upd.SubName != old.SubName, "Subscription Name cannot be altered"},
	} {
		if r.changed {
			return m, fail(errBadRequest, nil, r.reason)
		}
	}
	if upd.LogTopic != "" {
		m.LogTopic = upd.LogTopic
	}
	if upd.Output != "" {
		m.Output = upd.Output
	}
	if upd.UserConfig != nil {
		m.UserConfig = upd.UserConfig
	}
	if upd.Secrets != nil {
		m.Secrets = upd.Secrets
	}
	if upd.MaxMessageRetries != nil {
		m.MaxMessageRetries = upd.MaxMessageRetries
	}
	if upd.DeadLetterTopic != "" {
		m.DeadLetterTopic = upd.DeadLetterTopic
	}
	if upd.Parallelism != 0 {
		m.Parallelism = upd.Parallelism
	}
	if upd.Resources != nil {
		m.Resources = upd.Resources
	}
	if upd.WindowConfig != nil {
		m.WindowConfig = upd.WindowConfig
	}
	if upd.TimeoutMs != nil {
		m.TimeoutMs = upd.TimeoutMs
	}
	m.CleanupSubscription = upd.CleanupSubscription
	if upd.RuntimeFlags != "" {
		m.RuntimeFlags = upd.RuntimeFlags
	}
	if upd.CustomRuntimeOptions != "" {
		m.CustomRuntimeOptions = upd.CustomRuntimeOptions
	}
	if upd.ProducerConfig != nil {
		m.ProducerConfig = upd.ProducerConfig
	}
	return m, nil
}

// register adds a function and starts its instances (Pulsar's
// registerFunction): 400 when it exists or its configuration or package
// is refused.
func (w *Worker) register(ctx context.Context, fc utils.FunctionConfig, up upload) error {
	if err := checkConfig(&fc, fc.Tenant, fc.Namespace, fc.Name); err != nil {
		return err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.usable(); err != nil {
		return err
	}
	if _, ok := w.funcs[fqfn(fc.Tenant, fc.Namespace, fc.Name)]; ok {
		return fail(errBadRequest, nil, fmt.Sprintf("Function %s already exists", fc.Name))
	}
	if up.file == "" && up.url == "" {
		return fail(errBadRequest, nil, "Function Package is not provided")
	}
	r := &record{Config: fc, FunctionID: newID(), CreateTime: time.Now().UnixMilli()}
	if err := w.ensureDir(); err != nil {
		return err
	}
	if err := w.placePackage(ctx, r, up); err != nil {
		return err
	}
	f := &function{rec: r}
	w.funcs[r.fqfn()] = f
	if err := w.save(); err != nil {
		delete(w.funcs, r.fqfn())
		return err
	}
	w.log.Info("function registered", "function", r.fqfn(), "parallelism", fc.Parallelism)
	return w.startInstances(f)
}

// update merges a change into a function's configuration (see
// mergeUpdate), takes its new package when one comes, and restarts its
// instances (Pulsar's updateFunction): 400 when there is no such
// function, the change is refused, or nothing changes.
func (w *Worker) update(ctx context.Context, upd utils.FunctionConfig, up upload) error {
	f, err := w.begin(upd.Tenant, upd.Namespace, upd.Name)
	if errors.Is(err, errNotFound) {
		return fail(errBadRequest, nil, fmt.Sprintf("Function %s doesn't exist", upd.Name))
	}
	if err != nil {
		return err
	}
	defer f.op.Unlock()
	// f.rec changes only under f.op, which this holds.
	old := f.rec
	fc, err := mergeUpdate(old.Config, upd)
	if err != nil {
		return err
	}
	if err := checkConfig(&fc, fc.Tenant, fc.Namespace, fc.Name); err != nil {
		return err
	}
	if up.file == "" && up.url == "" && sameConfig(old.Config, fc) {
		return fail(errBadRequest, nil, "Update contains no change")
	}
	r := &record{Config: fc, FunctionID: old.FunctionID, Version: old.Version + 1, CreateTime: old.CreateTime,
		Package: old.Package, PackageURL: old.PackageURL, Stopped: old.Stopped}
	if up.file != "" || up.url != "" {
		if err := w.placePackage(ctx, r, up); err != nil {
			return err
		}
	}
	// The old instances stay listed while they stop: status shows them
	// not running, rather than none at all.
	w.mu.Lock()
	running := f.instances
	f.rec = r
	err = w.save()
	w.mu.Unlock()
	if err != nil {
		return err
	}
	haltAll(running)
	if r.Package != old.Package {
		removeOtherPackages(filepath.Dir(r.Package), r.Package)
	}
	w.log.Info("function updated", "function", r.fqfn(), "version", r.Version)
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.usable(); err != nil {
		return err
	}
	return w.startInstances(f)
}

// begin finds a function and takes its operation lock, so that an
// operation may wait for instances to stop without holding the worker's
// lock, and status calls go on meanwhile. The caller unlocks f.op.
func (w *Worker) begin(tenant, namespace, name string) (*function, error) {
	w.mu.Lock()
	f, err := w.lookup(tenant, namespace, name)
	w.mu.Unlock()
	if err != nil {
		return nil, err
	}
	f.op.Lock()
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.usable(); err != nil {
		f.op.Unlock()
		return nil, err
	}
	if w.funcs[fqfn(tenant, namespace, name)] != f {
		f.op.Unlock()
		return nil, fail(errNotFound, nil, fmt.Sprintf("Function %s doesn't exist", name))
	}
	return f, nil
}

func sameConfig(a, b utils.FunctionConfig) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb)
}

// placePackage stores the package of r's version from up and sets
// r.Package.
func (w *Worker) placePackage(ctx context.Context, r *record, up upload) error {
	dir := w.packageDir(r)
	if up.url != "" {
		body, name, err := openPackageURL(ctx, up.url)
		if err != nil {
			return err
		}
		defer body.Close()
		path, err := storePackage(dir, r.Version, name, body, w.opts.MaxPackageBytes)
		if err != nil {
			return err
		}
		r.Package, r.PackageURL = path, up.url
		return nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("storing the package: %w", err)
	}
	path := filepath.Join(dir, fmt.Sprintf("%d-%s", r.Version, filepath.Base(up.fileName)))
	if err := os.Rename(up.file, path); err != nil {
		return fmt.Errorf("storing the package: %w", err)
	}
	r.Package, r.PackageURL = path, ""
	return nil
}

// deregister stops a function's instances and removes it, its package and,
// when its configuration says cleanupSubscription, its subscriptions
// (Pulsar's deregisterFunction).
func (w *Worker) deregister(ctx context.Context, tenant, namespace, name string) error {
	f, err := w.begin(tenant, namespace, name)
	if err != nil {
		return err
	}
	defer f.op.Unlock()
	w.mu.Lock()
	delete(w.funcs, f.rec.fqfn())
	err = w.save()
	running := f.instances
	w.mu.Unlock()
	if err != nil {
		return err
	}
	haltAll(running)
	os.RemoveAll(w.packageDir(f.rec))
	w.log.Info("function deleted", "function", f.rec.fqfn())
	if f.rec.Config.CleanupSubscription {
		return w.removeSubscriptions(ctx, f.rec)
	}
	return nil
}

// subscription is the name a function's instances subscribe with: its
// subName, else its fully qualified name, as in Pulsar.
func subscription(fc *utils.FunctionConfig) string {
	if fc.SubName != "" {
		return fc.SubName
	}
	return fqfn(fc.Tenant, fc.Namespace, fc.Name)
}

// get returns a function's configuration.
func (w *Worker) get(tenant, namespace, name string) (utils.FunctionConfig, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	f, err := w.lookup(tenant, namespace, name)
	if err != nil {
		return utils.FunctionConfig{}, err
	}
	return f.rec.Config, nil
}

// list names the functions of a namespace.
func (w *Worker) list(tenant, namespace string) ([]string, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.usable(); err != nil {
		return nil, err
	}
	out := []string{}
	for _, f := range w.funcs {
		if f.rec.Config.Tenant == tenant && f.rec.Config.Namespace == namespace {
			out = append(out, f.rec.Config.Name)
		}
	}
	sort.Strings(out)
	return out, nil
}

// instanceAction is start, stop or restart, on one instance or (id < 0)
// on all of them.
type instanceAction string

const (
	actionStart   instanceAction = "start"
	actionStop    instanceAction = "stop"
	actionRestart instanceAction = "restart"
)

// act starts, stops or restarts instances of a function; stopped ones stay
// stopped across a restart of the worker.
func (w *Worker) act(tenant, namespace, name string, id int, action instanceAction) error {
	f, err := w.begin(tenant, namespace, name)
	if err != nil {
		return err
	}
	defer f.op.Unlock()
	w.mu.Lock()
	ids, err := f.ids(id)
	var halting []*instance
	if err == nil && action != actionStart {
		for _, i := range ids {
			halting = append(halting, f.instances[i])
		}
	}
	w.mu.Unlock()
	if err != nil {
		return err
	}
	haltAll(halting)
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.usable(); err != nil {
		return err
	}
	for k, i := range ids {
		if k < len(halting) && f.instances[i] == halting[k] {
			f.instances[i] = nil
		}
	}
	for _, i := range ids {
		f.rec.Stopped = slices.DeleteFunc(f.rec.Stopped, func(s int) bool { return s == i })
		if action == actionStop {
			f.rec.Stopped = append(f.rec.Stopped, i)
			continue
		}
		if f.instances[i] == nil {
			if err := w.startInstance(f, i); err != nil {
				return err
			}
		}
	}
	sort.Ints(f.rec.Stopped)
	return w.save()
}

// ids are the instance ids an action on id means: all for id < 0.
func (f *function) ids(id int) ([]int, error) {
	if id >= len(f.instances) {
		return nil, fail(errNotFound, nil, fmt.Sprintf("Function instance %d of %s doesn't exist: instances are 0 to %d", id, f.rec.Config.Name, len(f.instances)-1))
	}
	if id >= 0 {
		return []int{id}, nil
	}
	out := make([]int, len(f.instances))
	for i := range out {
		out[i] = i
	}
	return out, nil
}

func newID() string {
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
