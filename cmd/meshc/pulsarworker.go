package main

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"strconv"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"
	"github.com/apache/pulsar-client-go/pulsaradmin/pkg/utils"
	"github.com/spf13/cobra"

	"github.com/meshc/meshc/backends"
	"github.com/meshc/meshc/backends/counters"
	"github.com/meshc/meshc/backends/direct"
	"github.com/meshc/meshc/backends/local"
	"github.com/meshc/meshc/backends/pulsarworker"
	"github.com/meshc/meshc/planner/plan"
)

// The pulsar backend: a mesh's components as Pulsar Functions on a
// cluster's Functions worker, through its admin API.

const pulsarBackend = "pulsar"

func init() {
	emitters[pulsarBackend] = func(p *plan.Plan, o emitOptions) ([]backends.File, error) {
		return pulsarworker.Files(p, pulsarworker.Package{File: cmp.Or(o.Binary, local.DefaultBinary)})
	}
	deployers[pulsarBackend] = deployPulsar
	controllers[pulsarBackend] = func(t target) (controller, error) { return t.Pulsar.open(t) }
}

// pulsarTarget says where the mesh's functions are: the worker's admin
// URL, its tenant and namespace, and the credentials to use.
type pulsarTarget struct {
	AdminURL, Tenant  string
	namespace         *string // shared with kubernetes' --namespace
	URL               string  // the broker, for logs
	KeepSubscriptions bool
	secure            *secureFlags
	own               secureFlags
}

// registerPulsar adds --backend (unless there) and the pulsar flags to a
// command; secure is the command's own Pulsar credentials flags, or nil
// to add them.
func (tf *targetFlags) registerPulsar(cmd *cobra.Command, secure *secureFlags) {
	f := cmd.Flags()
	if f.Lookup("backend") == nil {
		f.StringVar(&tf.Backend, "backend", "local", "where the mesh runs: local or pulsar (a Pulsar Functions worker)")
	}
	pt := &tf.Pulsar
	f.StringVar(&pt.AdminURL, "admin-url", "", "pulsar: the admin (web service) URL of the Functions worker (default --addr, else "+pulsarworker.DefaultAdminURL+")")
	f.StringVar(&pt.Tenant, "tenant", "public", "pulsar: the mesh's tenant")
	if f.Lookup("namespace") == nil {
		f.StringVar(&tf.Kube.Namespace, "namespace", "", "pulsar: the mesh's namespace (default: default)")
	}
	pt.namespace = &tf.Kube.Namespace
	pt.secure = secure
	if secure == nil {
		pt.secure = &pt.own
		pt.own.register(cmd)
	}
	if cmd.Name() == "logs" {
		f.StringVar(&pt.URL, "pulsar-url", "", "pulsar: the broker's service URL, to read the log topic (default: pulsar://ADMIN-HOST:6650)")
	}
}

func (pt *pulsarTarget) adminURL(t target) string {
	return cmp.Or(pt.AdminURL, t.Addr, pulsarworker.DefaultAdminURL)
}

// serviceURL is the broker the target's admin URL is on, unless given.
func (pt *pulsarTarget) serviceURL(admin string) string {
	if pt.URL != "" {
		return pt.URL
	}
	u, err := url.Parse(admin)
	if err != nil {
		return ""
	}
	return pulsarworker.ServiceURL(u)
}

// worker connects to the target's worker with its credentials.
func (pt *pulsarTarget) worker(t target, stderr io.Writer) (*pulsarworker.Worker, error) {
	admin := pt.adminURL(t)
	s := pt.own
	if pt.secure != nil {
		s = *pt.secure
	}
	conn, err := s.connection(pt.serviceURL(admin), stderr)
	if err != nil {
		return nil, err
	}
	return pulsarworker.Connect(admin, conn)
}

// mesh finds the target mesh on the worker.
func (pt *pulsarTarget) mesh(ctx context.Context, t target, stderr io.Writer) (*pulsarworker.Worker, *pulsarworker.Mesh, error) {
	w, err := pt.worker(t, stderr)
	if err != nil {
		return nil, nil, err
	}
	ns := "default"
	if pt.namespace != nil && *pt.namespace != "" {
		ns = *pt.namespace
	}
	m, err := w.Mesh(ctx, pt.Tenant, ns, t.Mesh)
	return w, m, err
}

func (pt *pulsarTarget) open(t target) (controller, error) {
	return pulsarController{t: t}, nil
}

// pulsarController is the controller of a mesh on a Functions worker.
type pulsarController struct{ t target }

func (c pulsarController) with(ctx context.Context, f func(*pulsarworker.Worker, *pulsarworker.Mesh) error) error {
	w, m, err := c.t.Pulsar.mesh(ctx, c.t, os.Stderr)
	if err != nil {
		return err
	}
	return f(w, m)
}

func (c pulsarController) Status(ctx context.Context, out io.Writer, function string) error {
	return c.with(ctx, func(w *pulsarworker.Worker, m *pulsarworker.Mesh) error { return w.Status(ctx, out, m, function) })
}

func (c pulsarController) Stats(ctx context.Context, function string) (stats map[string]counters.Counters, names []string, err error) {
	err = c.with(ctx, func(w *pulsarworker.Worker, m *pulsarworker.Mesh) error {
		stats, names, err = w.Stats(ctx, m, function)
		return err
	})
	return stats, names, err
}

func (c pulsarController) Start(ctx context.Context, function string) error {
	return c.with(ctx, func(w *pulsarworker.Worker, m *pulsarworker.Mesh) error { return w.Start(ctx, m, function) })
}

func (c pulsarController) Stop(ctx context.Context, function string) error {
	return c.with(ctx, func(w *pulsarworker.Worker, m *pulsarworker.Mesh) error { return w.Stop(ctx, m, function) })
}

func (c pulsarController) Restart(ctx context.Context, function string) error {
	return c.with(ctx, func(w *pulsarworker.Worker, m *pulsarworker.Mesh) error { return w.Restart(ctx, m, function) })
}

func (c pulsarController) Delete(ctx context.Context) error {
	return c.with(ctx, func(w *pulsarworker.Worker, m *pulsarworker.Mesh) error {
		return w.Delete(ctx, io.Discard, m, c.t.Pulsar.KeepSubscriptions)
	})
}

// deployPulsar registers the mesh's functions on the worker of
// --admin-url, else the mesh's admin_url, with the mesh's credentials.
func deployPulsar(ctx context.Context, cmd *cobra.Command, p *plan.Plan, o deployOptions) error {
	pk, err := pulsarPackage(p, o)
	if err != nil {
		return err
	}
	s := o.Secure
	if err := s.fromMesh(p.Mesh.Pulsar); err != nil {
		return err
	}
	admin := o.AdminURL
	if admin == "" && p.Mesh.Pulsar != nil {
		admin = p.Mesh.Pulsar.AdminURL
	}
	admin = cmp.Or(admin, o.Addr, pulsarworker.DefaultAdminURL)
	pt := pulsarTarget{URL: backends.PulsarURL(p, o.PulsarURL, "")}
	conn, err := s.connection(pt.serviceURL(admin), cmd.ErrOrStderr())
	if err != nil {
		return err
	}
	w, err := pulsarworker.Connect(admin, conn)
	if err != nil {
		return err
	}
	return w.Deploy(ctx, cmd.OutOrStdout(), p, pulsarworker.DeployOptions{Package: pk, DryRun: o.DryRun, Timeout: o.Timeout})
}

// pulsarPackage is the code the functions run: --package-url, else the
// instance binary (--binary, else the plan's, meshrt, found as meshc run
// finds it), uploaded.
func pulsarPackage(p *plan.Plan, o deployOptions) (pulsarworker.Package, error) {
	if o.PackageURL != "" {
		return pulsarworker.Package{URL: o.PackageURL}, nil
	}
	rt := plan.Runtime{Binary: o.Binary}
	if rt.Binary == "" && len(p.Components) > 0 {
		rt.Binary = p.Components[0].Runtime.Binary
	}
	rt.Args = nil
	cmdline, err := local.Resolve(rt, nil)
	if err != nil {
		return pulsarworker.Package{}, fmt.Errorf("the package to upload: %w", err)
	}
	digest, err := fileDigest(cmdline[0])
	if err != nil {
		return pulsarworker.Package{}, fmt.Errorf("the package to upload: %w", err)
	}
	return pulsarworker.Package{File: cmdline[0], Digest: digest}, nil
}

func fileDigest(path string) (string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(data)
	return "sha256:" + hex.EncodeToString(sum[:]), nil
}

// The verbs of a mesh on a Functions worker that are not the controller's.

func pulsarList(cmd *cobra.Command, tf *targetFlags) error {
	w, m, err := tf.Pulsar.mesh(cmd.Context(), tf.target, cmd.ErrOrStderr())
	if err != nil {
		return fail(err)
	}
	return fail(w.List(cmd.OutOrStdout(), m))
}

func pulsarGet(cmd *cobra.Command, tf *targetFlags, name string) error {
	w, m, err := tf.Pulsar.mesh(cmd.Context(), tf.target, cmd.ErrOrStderr())
	if err != nil {
		return fail(err)
	}
	fc, err := w.Get(m, name)
	if err != nil {
		return fail(err)
	}
	enc := json.NewEncoder(cmd.OutOrStdout())
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(fc)
}

func pulsarTrigger(cmd *cobra.Command, tf *targetFlags, name, topic, value string, timeout time.Duration) (local.TriggerResult, error) {
	ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
	defer cancel()
	w, m, err := tf.Pulsar.mesh(ctx, tf.target, cmd.ErrOrStderr())
	if err != nil {
		return local.TriggerResult{}, fail(err)
	}
	out, err := w.Trigger(ctx, m, name, topic, value)
	if err != nil {
		return local.TriggerResult{}, fail(err)
	}
	res := local.TriggerResult{Sent: topic}
	if d, _ := m.Function(name); topic == "" && len(d.Config.Inputs) > 0 {
		res.Sent = d.Config.Inputs[0]
	}
	if out != "" {
		res.Outputs = []string{out}
	}
	return res, nil
}

func pulsarQueryState(cmd *cobra.Command, tf *targetFlags, name, key string) (direct.State, error) {
	ctx, cancel := context.WithTimeout(cmd.Context(), stateTimeout)
	defer cancel()
	w, m, err := tf.Pulsar.mesh(ctx, tf.target, cmd.ErrOrStderr())
	if err != nil {
		return direct.State{}, fail(err)
	}
	st, err := w.QueryState(ctx, m, name, key)
	if err != nil {
		return direct.State{}, fail(err)
	}
	out := direct.State{Key: st.Key, StringValue: st.StringValue}
	if st.StringValue == "" && st.ByteValue == nil {
		out.NumberValue = &st.NumValue
	}
	return out, nil
}

func pulsarPutState(cmd *cobra.Command, tf *targetFlags, name, key, value string, counter bool) error {
	ctx, cancel := context.WithTimeout(cmd.Context(), stateTimeout)
	defer cancel()
	w, m, err := tf.Pulsar.mesh(ctx, tf.target, cmd.ErrOrStderr())
	if err != nil {
		return fail(err)
	}
	st := utils.FunctionState{Key: key, StringValue: value}
	if counter {
		n, err := strconv.ParseInt(value, 10, 64)
		if err != nil {
			return usageErrorf("--counter %s: VALUE %q is not an integer", key, value)
		}
		st = utils.FunctionState{Key: key, NumValue: n}
	}
	return fail(w.PutState(ctx, m, name, st))
}

// pulsarLogs prints what the function's instances logged to its log
// topic, oldest first; with follow, what they log next too.
func pulsarLogs(cmd *cobra.Command, tf *targetFlags, name string, opts local.LogOptions) error {
	ctx := cmd.Context()
	_, m, err := tf.Pulsar.mesh(ctx, tf.target, cmd.ErrOrStderr())
	if err != nil {
		return fail(err)
	}
	topic, err := pulsarworker.LogTopic(m, name)
	if err != nil {
		return fail(err)
	}
	pt := &tf.Pulsar
	conn, err := pt.secure.connection(pt.serviceURL(pt.adminURL(tf.target)), cmd.ErrOrStderr())
	if err != nil {
		return fail(err)
	}
	client, err := direct.Dial(conn)
	if err != nil {
		return fail(err)
	}
	defer client.Close()
	reader, err := client.CreateReader(pulsar.ReaderOptions{Topic: topic, StartMessageID: pulsar.EarliestMessageID()})
	if err != nil {
		return fail(fmt.Errorf("reading log topic %s: %w", topic, err))
	}
	defer reader.Close()
	var lines []string
	for opts.Follow || reader.HasNext() {
		msg, err := reader.Next(ctx)
		if errors.Is(err, context.Canceled) {
			break
		}
		if err != nil {
			return fail(fmt.Errorf("reading log topic %s: %w", topic, err))
		}
		line := string(msg.Payload())
		if opts.Follow {
			fmt.Fprintln(cmd.OutOrStdout(), line)
			continue
		}
		lines = append(lines, line)
	}
	if opts.Tail >= 0 && len(lines) > opts.Tail {
		lines = lines[len(lines)-opts.Tail:]
	}
	for _, l := range lines {
		fmt.Fprintln(cmd.OutOrStdout(), l)
	}
	return nil
}
