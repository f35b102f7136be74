package pulsarworker

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/apache/pulsar-client-go/pulsaradmin/pkg/utils"

	"github.com/meshc/meshc/planner/plan"
)

// DefaultTimeout bounds the wait for every instance to run after a
// deploy: the worker downloads the package and starts each instance.
const DefaultTimeout = 3 * time.Minute

// pollInterval is how often deploy and delete look at the worker again.
const pollInterval = 250 * time.Millisecond

// DeployOptions say what to deploy and how far to go.
type DeployOptions struct {
	Package Package
	// DryRun shows the changes and applies none.
	DryRun bool
	// Timeout bounds the wait for running instances; 0 is DefaultTimeout.
	Timeout time.Duration
}

// Deploy registers the mesh's functions on the worker: it shows what
// would change, creates the tenant and namespace if missing, creates,
// updates or scales the functions that differ, deletes those the mesh no
// longer holds (with their subscriptions), and waits until every instance
// runs. When a call fails, the error says which components are in which
// state.
func (w *Worker) Deploy(ctx context.Context, out io.Writer, p *plan.Plan, o DeployOptions) error {
	want, err := Configs(p, o.Package)
	if err != nil {
		return err
	}
	tenant, ns := p.Mesh.Tenant, p.Mesh.Namespace
	created, err := w.ensureNamespace(ctx, tenant, ns, o.DryRun)
	if err != nil {
		return err
	}
	for _, c := range created {
		if o.DryRun {
			fmt.Fprintf(out, "would create %s\n", c)
		} else {
			fmt.Fprintf(out, "created %s\n", c)
		}
	}
	var have []Deployed
	if !o.DryRun || len(created) == 0 {
		if have, err = w.functions(ctx, tenant, ns); err != nil {
			return err
		}
	}
	changes, err := Changes(p.Mesh.Name, want, have)
	if err != nil {
		return fmt.Errorf("mesh %s in %s/%s: %w", p.Mesh.Name, tenant, ns, err)
	}
	fmt.Fprintf(out, "changes to mesh %s in %s/%s on the Functions worker at %s:\n", p.Mesh.Name, tenant, ns, w.url)
	WriteChanges(out, changes)
	if o.DryRun {
		return nil
	}
	if err := w.apply(ctx, out, tenant, ns, changes, o.Package); err != nil {
		return err
	}
	timeout := cmp.Or(o.Timeout, DefaultTimeout)
	wctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if err := w.awaitRunning(wctx, tenant, ns, want); err != nil {
		if errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
			err = fmt.Errorf("after %s: %w", timeout, err)
		}
		return fmt.Errorf("mesh %s on the Functions worker at %s: %w", p.Mesh.Name, w.url, err)
	}
	fmt.Fprintf(out, "deployed mesh %s: every instance runs\n", p.Mesh.Name)
	writeSummary(out, changes)
	return nil
}

// writeSummary is a row per component: kind, instances running and what
// the deploy did to it.
func writeSummary(out io.Writer, changes []Change) {
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tKIND\tINSTANCES\tDEPLOY")
	for _, ch := range changes {
		if ch.Want == nil {
			continue
		}
		n := ch.Want.Config.Parallelism
		fmt.Fprintf(tw, "%s\t%s\t%d/%d running\t%s\n", ch.Name, ch.Kind, n, n, pastTense(ch.Action))
	}
	tw.Flush()
}

// apply makes each change in order and stops at the first that fails,
// reporting the state of every component.
func (w *Worker) apply(ctx context.Context, out io.Writer, tenant, ns string, changes []Change, pk Package) error {
	done := make([]string, len(changes))
	for i, ch := range changes {
		err := w.applyOne(ctx, tenant, ns, ch, pk)
		if errors.Is(err, ErrRefused) {
			err = fmt.Errorf("%w: change what it names in the mesh (or the worker's settings), then deploy again", err)
		}
		if err != nil {
			done[i] = "failed: " + err.Error()
			for j := i + 1; j < len(changes); j++ {
				done[j] = "not applied (" + string(changes[j].Action) + " pending)"
				if changes[j].Action == Unchanged {
					done[j] = "unchanged"
				}
			}
			return fmt.Errorf("deploy stopped at %s %s: %w\n%s", ch.Kind, ch.Name, err, stateTable(changes, done))
		}
		done[i] = pastTense(ch.Action)
		if ch.Action != Unchanged {
			fmt.Fprintf(out, "%s %s %s\n", done[i], ch.Kind, ch.Name)
		}
	}
	return nil
}

func (w *Worker) applyOne(ctx context.Context, tenant, ns string, ch Change, pk Package) error {
	f := w.v3.Functions()
	var cfg *utils.FunctionConfig
	if ch.Want != nil {
		cfg = &ch.Want.Config
	}
	what := fmt.Sprintf("%s %s", ch.Kind, ch.Name)
	switch ch.Action {
	case Create:
		if pk.URL != "" {
			return w.explain(f.CreateFuncWithURLWithContext(ctx, cfg, pk.URL), "registering "+what)
		}
		return w.explain(f.CreateFuncWithContext(ctx, cfg, pk.File), "registering "+what+" with package "+pk.File)
	case Update, Scale:
		upload := ch.Action == Update && slices.Contains(ch.Why, "package")
		switch {
		case upload && pk.URL != "":
			return w.explain(f.UpdateFunctionWithURLWithContext(ctx, cfg, pk.URL, nil), "updating "+what)
		case upload:
			return w.explain(f.UpdateFunctionWithContext(ctx, cfg, pk.File, nil), "updating "+what+" with package "+pk.File)
		}
		return w.explain(f.UpdateFunctionWithContext(ctx, cfg, "", nil), "updating "+what)
	case Delete:
		return w.deleteFunction(ctx, tenant, ns, *ch.Have, false)
	}
	return nil
}

func pastTense(a Action) string {
	switch a {
	case Create:
		return "created"
	case Update:
		return "updated"
	case Scale:
		return "scaled"
	case Delete:
		return "deleted"
	}
	return "unchanged"
}

// stateTable says where each component stands after a partial deploy.
func stateTable(changes []Change, done []string) string {
	var b strings.Builder
	b.WriteString("state of each component:\n")
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	for i, ch := range changes {
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", ch.Name, ch.Kind, done[i])
	}
	tw.Flush()
	b.WriteString("fix the cause and run deploy again: it applies what is still pending")
	return b.String()
}

// awaitRunning waits until every instance of every function runs. The
// error names the functions that do not, and their instances' errors.
func (w *Worker) awaitRunning(ctx context.Context, tenant, ns string, want []Function) error {
	for {
		var behind []string
		for _, f := range want {
			if msg, err := w.running(ctx, tenant, ns, f.Config.Name, f.Config.Parallelism); err != nil {
				return err
			} else if msg != "" {
				behind = append(behind, fmt.Sprintf("%s %s: %s", f.Component.Kind, f.Config.Name, msg))
			}
		}
		if len(behind) == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w: %w:\n  %s\n(meshc status --backend pulsar shows each instance)", ErrNotReady, ctx.Err(), strings.Join(behind, "\n  "))
		case <-time.After(pollInterval):
		}
	}
}

// running says what keeps one function from running want instances, or
// "" when they run.
func (w *Worker) running(ctx context.Context, tenant, ns, name string, want int) (string, error) {
	st, err := w.v3.Functions().GetFunctionStatusWithContext(ctx, tenant, ns, name)
	if err != nil {
		if ctx.Err() != nil {
			return "no status yet", nil
		}
		return "", w.explain(err, "reading the status of "+name)
	}
	if st.NumRunning >= want && len(st.Instances) >= want {
		return "", nil
	}
	msg := fmt.Sprintf("%d of %d instances run", st.NumRunning, want)
	for _, in := range st.Instances {
		if !in.Status.Running && in.Status.Err != "" {
			msg += fmt.Sprintf("; instance %d: %s", in.InstanceID, in.Status.Err)
		}
	}
	return msg, nil
}
