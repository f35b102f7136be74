package pulsarworker

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/apache/pulsar-client-go/pulsaradmin/pkg/rest"
	"github.com/apache/pulsar-client-go/pulsaradmin/pkg/utils"

	"github.com/meshc/meshc/backends/counters"
)

// subscriptionDeadline bounds the wait for a deleted function's consumers
// to leave its subscriptions, which Pulsar will not delete while they are
// connected (412).
const subscriptionDeadline = time.Minute

// List prints each function of the mesh: name, kind, parallelism.
func (w *Worker) List(out io.Writer, m *Mesh) error {
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	for _, d := range m.Functions {
		fmt.Fprintf(tw, "%s\t%s\t%d\n", d.Name, d.Kind, d.Parallelism)
	}
	return tw.Flush()
}

// Status prints the worker's status of each instance of the mesh's
// functions, or of one.
func (w *Worker) Status(ctx context.Context, out io.Writer, m *Mesh, name string) error {
	fns, err := m.Select(name)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tKIND\tINSTANCE\tRUNNING\tRESTARTS\tRECEIVED\tPROCESSED\tWORKER\tERROR")
	for _, d := range fns {
		st, err := w.v3.Functions().GetFunctionStatusWithContext(ctx, m.Tenant, m.Namespace, d.Name)
		if err != nil {
			return w.explain(err, "reading the status of "+d.Kind+" "+d.Name)
		}
		if len(st.Instances) == 0 {
			fmt.Fprintf(tw, "%s\t%s\t-\tfalse\t-\t-\t-\t-\tno instance (stopped?)\n", d.Name, d.Kind)
		}
		for _, in := range st.Instances {
			s := in.Status
			fmt.Fprintf(tw, "%s\t%s\t%d\t%t\t%d\t%d\t%d\t%s\t%s\n", d.Name, d.Kind, in.InstanceID, s.Running, s.NumRestarts,
				s.NumReceived, s.NumSuccessfullyProcessed, dash(s.WorkerID), dash(s.Err))
		}
	}
	return tw.Flush()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// Stats reads the worker's counters of the mesh's functions, or of one,
// and lists their names in the order to show them.
func (w *Worker) Stats(ctx context.Context, m *Mesh, name string) (map[string]counters.Counters, []string, error) {
	fns, err := m.Select(name)
	if err != nil {
		return nil, nil, err
	}
	out := map[string]counters.Counters{}
	var names []string
	for _, d := range fns {
		st, err := w.v3.Functions().GetFunctionStatsWithContext(ctx, m.Tenant, m.Namespace, d.Name)
		if err != nil {
			return nil, nil, w.explain(err, "reading the stats of "+d.Kind+" "+d.Name)
		}
		status, err := w.v3.Functions().GetFunctionStatusWithContext(ctx, m.Tenant, m.Namespace, d.Name)
		if err != nil {
			return nil, nil, w.explain(err, "reading the status of "+d.Kind+" "+d.Name)
		}
		out[d.Name] = countersOf(st, status, d.Parallelism)
		names = append(names, d.Name)
	}
	return out, names, nil
}

// countersOf maps Pulsar's FunctionStats onto meshc's counters; the
// worker keeps no count of bad input or dead-lettered messages.
func countersOf(st utils.FunctionStats, status utils.FunctionStatus, want int) counters.Counters {
	return counters.Counters{
		Received: st.ReceivedTotal, Processed: st.ProcessedSuccessfullyTotal,
		UserErrors: st.UserExceptionsTotal, SystemErrors: st.SystemExceptionsTotal,
		LatencySumMs: st.AvgProcessLatency * float64(st.ProcessedSuccessfullyTotal), LatencyCount: st.ProcessedSuccessfullyTotal,
		LastInvocation: st.LastInvocation, InstancesUp: status.NumRunning, InstancesWanted: want,
	}
}

// Start, Stop and Restart act on every instance of the mesh's functions,
// or of one, as pulsar-admin functions start, stop and restart do.
func (w *Worker) Start(ctx context.Context, m *Mesh, name string) error {
	return w.each(ctx, m, name, "starting", w.v3.Functions().StartFunctionWithContext)
}

func (w *Worker) Stop(ctx context.Context, m *Mesh, name string) error {
	return w.each(ctx, m, name, "stopping", w.v3.Functions().StopFunctionWithContext)
}

func (w *Worker) Restart(ctx context.Context, m *Mesh, name string) error {
	return w.each(ctx, m, name, "restarting", w.v3.Functions().RestartFunctionWithContext)
}

func (w *Worker) each(ctx context.Context, m *Mesh, name, doing string, f func(context.Context, string, string, string) error) error {
	fns, err := m.Select(name)
	if err != nil {
		return err
	}
	for _, d := range fns {
		if err := f(ctx, m.Tenant, m.Namespace, d.Name); err != nil {
			return w.explain(err, doing+" "+d.Kind+" "+d.Name)
		}
	}
	return nil
}

// Delete removes every function of the mesh, sources first, and then,
// unless keepSubscriptions, the subscriptions they read through.
func (w *Worker) Delete(ctx context.Context, out io.Writer, m *Mesh, keepSubscriptions bool) error {
	for _, d := range m.Functions {
		if err := w.deleteFunction(ctx, m.Tenant, m.Namespace, d, keepSubscriptions); err != nil {
			return err
		}
		fmt.Fprintf(out, "deleted %s %s\n", d.Kind, d.Name)
	}
	return nil
}

func (w *Worker) deleteFunction(ctx context.Context, tenant, ns string, d Deployed, keepSubscriptions bool) error {
	err := w.v3.Functions().DeleteFunctionWithContext(ctx, tenant, ns, d.Name)
	if err != nil && !isNotFound(err) {
		return w.explain(err, "deleting "+d.Kind+" "+d.Name)
	}
	if keepSubscriptions {
		return nil
	}
	return w.deleteSubscriptions(ctx, tenant, ns, d)
}

// deleteSubscriptions removes the function's subscription from each topic
// it read, named or matched by its pattern.
func (w *Worker) deleteSubscriptions(ctx context.Context, tenant, ns string, d Deployed) error {
	sub := d.Config.SubName
	if sub == "" {
		sub = tenant + "/" + ns + "/" + d.Name // Pulsar's default: the function's FQFN
	}
	topics, err := w.inputTopics(ctx, tenant, ns, d.Config)
	if err != nil {
		return err
	}
	for _, t := range topics {
		if err := w.deleteSubscription(ctx, t, sub); err != nil {
			return fmt.Errorf("%s %s is deleted, its subscription %s on %s is not: %w", d.Kind, d.Name, sub, t, err)
		}
	}
	return nil
}

func (w *Worker) deleteSubscription(ctx context.Context, topic, sub string) error {
	tn, err := utils.GetTopicName(topic)
	if err != nil {
		return err
	}
	deadline := time.Now().Add(subscriptionDeadline)
	for {
		err := w.admin.Subscriptions().DeleteWithContext(ctx, *tn, sub)
		switch {
		case err == nil || isNotFound(err):
			return nil
		case statusOf(err) != http.StatusPreconditionFailed || time.Now().After(deadline):
			return w.explain(err, "deleting subscription "+sub+" of "+topic)
		}
		// Its consumers are still leaving.
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(pollInterval):
		}
	}
}

// inputTopics are the topics a function reads: by name, and those of the
// namespace its patterns match.
func (w *Worker) inputTopics(ctx context.Context, tenant, ns string, fc utils.FunctionConfig) ([]string, error) {
	topics := slices.Clone(fc.Inputs)
	var patterns []*regexp.Regexp
	add := func(p string) error {
		re, err := regexp.Compile("^(?:" + p + ")$")
		if err != nil {
			return fmt.Errorf("function %s: topic pattern %q: %w", fc.Name, p, err)
		}
		patterns = append(patterns, re)
		return nil
	}
	if fc.TopicsPattern != nil {
		if err := add(*fc.TopicsPattern); err != nil {
			return nil, err
		}
	}
	for t, spec := range fc.InputSpecs {
		if !spec.RegexPattern {
			topics = append(topics, t)
		} else if err := add(t); err != nil {
			return nil, err
		}
	}
	if len(patterns) > 0 {
		nsName, err := utils.GetNamespaceName(tenant + "/" + ns)
		if err != nil {
			return nil, err
		}
		partitioned, plain, err := w.admin.Topics().ListWithContext(ctx, *nsName)
		if err != nil {
			return nil, w.explain(err, "listing the topics of "+tenant+"/"+ns)
		}
		for _, t := range append(partitioned, plain...) {
			if slices.ContainsFunc(patterns, func(re *regexp.Regexp) bool { return re.MatchString(t) }) {
				topics = append(topics, t)
			}
		}
	}
	slices.Sort(topics)
	return slices.Compact(topics), nil
}

// Get is the function's configuration as the worker holds it.
func (w *Worker) Get(m *Mesh, name string) (utils.FunctionConfig, error) {
	d, err := m.Function(name)
	return d.Config, err
}

// Trigger sends value to the function's input topic (topic picks one of
// several) through the worker, which waits for what the function writes
// for it and returns it.
func (w *Worker) Trigger(ctx context.Context, m *Mesh, name, topic, value string) (string, error) {
	d, err := m.Function(name)
	if err != nil {
		return "", err
	}
	out, err := w.trigger(ctx, m.Tenant, m.Namespace, d.Name, topic, value)
	if err != nil && topic == "" && len(d.Config.InputSpecs) > 1 {
		return "", fmt.Errorf("%w; it reads %d topics: pick one with --topic", w.explain(err, "triggering "+d.Kind+" "+d.Name), len(d.Config.InputSpecs))
	}
	return out, w.explain(err, "triggering "+d.Kind+" "+d.Name)
}

// trigger posts Pulsar's trigger form (data, topic) and returns the
// output the worker answers with. pulsaradmin's TriggerFunction drops
// that answer (v0.19.0 sends its result variable as the request's object
// and never reads the response), so the form is posted here, with the
// same client and credentials.
func (w *Worker) trigger(ctx context.Context, tenant, ns, name, topic, value string) (string, error) {
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	fields := [][2]string{{"data", value}}
	if topic != "" {
		fields = append(fields, [2]string{"topic", topic})
	}
	for _, f := range fields {
		if err := mw.WriteField(f[0], f[1]); err != nil {
			return "", err
		}
	}
	if err := mw.Close(); err != nil {
		return "", err
	}
	u := strings.TrimSuffix(w.url, "/") + "/admin/v3/functions/" + url.PathEscape(tenant) + "/" + url.PathEscape(ns) + "/" + url.PathEscape(name) + "/trigger"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, &body)
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	resp, err := w.http.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode >= http.StatusMultipleChoices {
		re := rest.Error{Code: resp.StatusCode, Reason: resp.Status}
		if json.Unmarshal(data, &re) != nil || re.Reason == "" {
			re.Reason = strings.TrimSpace(string(data))
		}
		re.Code = resp.StatusCode
		return "", re
	}
	// Pulsar answers the output as it is; a JSON string is unquoted.
	var s string
	if json.Unmarshal(data, &s) == nil {
		return s, nil
	}
	return string(data), nil
}

// QueryState reads one key of the function's state through the worker.
func (w *Worker) QueryState(ctx context.Context, m *Mesh, name, key string) (utils.FunctionState, error) {
	d, err := m.Function(name)
	if err != nil {
		return utils.FunctionState{}, err
	}
	st, err := w.v3.Functions().GetFunctionStateWithContext(ctx, m.Tenant, m.Namespace, d.Name, key)
	if isNotFound(err) {
		return st, fmt.Errorf("%s %s has no state key %q (%s)", d.Kind, d.Name, key, reasonOf(err))
	}
	return st, w.explain(err, "reading the state of "+d.Kind+" "+d.Name)
}

// PutState writes one key of the function's state through the worker.
func (w *Worker) PutState(ctx context.Context, m *Mesh, name string, st utils.FunctionState) error {
	d, err := m.Function(name)
	if err != nil {
		return err
	}
	return w.explain(w.v3.Functions().PutFunctionStateWithContext(ctx, m.Tenant, m.Namespace, d.Name, st),
		"writing the state of "+d.Kind+" "+d.Name)
}

// LogTopic is the topic the function's instances log to.
func LogTopic(m *Mesh, name string) (string, error) {
	d, err := m.Function(name)
	if err != nil {
		return "", err
	}
	if d.Config.LogTopic == "" {
		return "", fmt.Errorf("%s %s has no log topic: give it one in the mesh (log = \"TOPIC\"), deploy again, and its instances log there", d.Kind, d.Name)
	}
	return d.Config.LogTopic, nil
}

// FQFN is tenant/namespace/name.
func (m *Mesh) FQFN(name string) string {
	return strings.Join([]string{m.Tenant, m.Namespace, name}, "/")
}
