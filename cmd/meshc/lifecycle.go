package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/meshc/meshc/backends/counters"
	"github.com/meshc/meshc/backends/direct"
	"github.com/meshc/meshc/backends/local"
	"github.com/meshc/meshc/planner/plan"
)

// The lifecycle commands control a deployed mesh, as pulsar-admin
// functions does one function: status, start, stop, restart and delete go
// through the controller of --backend; the others talk to a mesh started
// by meshc run, through its control API.

func init() {
	controllers["local"] = func(t target) (controller, error) { return dialLocal(t) }
}

// lifecycleCmds returns the lifecycle commands, for the root command.
func lifecycleCmds() []*cobra.Command {
	return []*cobra.Command{
		newListCmd(), newGetCmd(), newStatsCmd(), newTriggerCmd(), newQueryStateCmd(), newPutStateCmd(),
		newLogsCmd(), newWaitCmd(),
		newControlCmd("status", "Show the state of every instance of the mesh, or of one function", (controller).Status),
		newActionCmd("start", "Start the mesh's stopped instances, or one function's", "started", controller.Start),
		newActionCmd("stop", "Stop the mesh, or one function; its input waits in its topics", "stopped", controller.Stop),
		newActionCmd("restart", "Restart the mesh, or one function", "restarted", controller.Restart),
		newDeleteCmd(),
	}
}

// targetFlags say which deployed mesh a command means.
type targetFlags struct{ target }

func (tf *targetFlags) register(cmd *cobra.Command, withBackend bool) {
	if withBackend {
		cmd.Flags().StringVar(&tf.Backend, "backend", "local", "where the mesh runs: "+strings.Join(slices.Sorted(maps.Keys(controllers)), " or "))
	}
	cmd.Flags().StringVar(&tf.Mesh, "mesh", "", "the mesh's name (default: the only one running)")
	if withBackend {
		tf.Kube.register(cmd)
		tf.registerPulsar(cmd, nil)
	}
	cmd.Flags().StringVar(&tf.Addr, "addr", "", "the backend's address (local: the control API's host:port; default: found from --mesh)")
}

// controllerFor opens the controller of the flags' backend.
func (tf *targetFlags) controller() (controller, error) {
	open, ok := controllers[tf.Backend]
	if !ok {
		return nil, usageErrorf("--backend %q: choose one of %s", tf.Backend, strings.Join(slices.Sorted(maps.Keys(controllers)), ", "))
	}
	c, err := open(tf.target)
	if err != nil {
		return nil, &exitError{code: exitFail, err: err}
	}
	return c, nil
}

// client reaches a mesh started by meshc run.
func (tf *targetFlags) client() (*local.Client, error) {
	c, err := dialLocal(tf.target)
	if err != nil {
		return nil, &exitError{code: exitFail, err: err}
	}
	return c.Client, nil
}

// fail wraps an error of the backend: exit status 1.
func fail(err error) error {
	if err == nil {
		return nil
	}
	return &exitError{code: exitFail, err: err}
}

func optionalName(args []string) string {
	if len(args) == 1 {
		return args[0]
	}
	return ""
}

func newControlCmd(name, short string, do func(controller, context.Context, io.Writer, string) error) *cobra.Command {
	var tf targetFlags
	cmd := &cobra.Command{
		Use:   name + " [FUNCTION]",
		Short: short,
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := tf.controller()
			if err != nil {
				return err
			}
			return fail(do(c, cmd.Context(), cmd.OutOrStdout(), optionalName(args)))
		},
	}
	tf.register(cmd, true)
	return cmd
}

func newActionCmd(name, short, done string, do func(controller, context.Context, string) error) *cobra.Command {
	var tf targetFlags
	cmd := &cobra.Command{
		Use:   name + " [FUNCTION]",
		Short: short,
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := tf.controller()
			if err != nil {
				return err
			}
			fn := optionalName(args)
			if err := do(c, cmd.Context(), fn); err != nil {
				return fail(err)
			}
			if fn == "" {
				fn = "the mesh"
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s %s\n", done, fn)
			return nil
		},
	}
	tf.register(cmd, true)
	return cmd
}

func newDeleteCmd() *cobra.Command {
	var tf targetFlags
	cmd := &cobra.Command{
		Use:   "delete",
		Short: "Stop the whole mesh and remove it (locally: end its meshc run)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := tf.controller()
			if err != nil {
				return err
			}
			if err := c.Delete(cmd.Context()); err != nil {
				return fail(err)
			}
			fmt.Fprintln(cmd.OutOrStdout(), "deleted the mesh")
			return nil
		},
	}
	tf.register(cmd, true)
	cmd.Flags().BoolVar(&tf.Pulsar.KeepSubscriptions, "keep-subscriptions", false, "pulsar: keep the subscriptions the mesh's functions read through (their backlogs stay)")
	return cmd
}

func newListCmd() *cobra.Command {
	var tf targetFlags
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the functions, sources and sinks of a running local mesh, or of one on a Functions worker",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if tf.Backend == pulsarBackend {
				return pulsarList(cmd, &tf)
			}
			c, err := tf.client()
			if err != nil {
				return err
			}
			p, err := c.Plan(cmd.Context())
			if err != nil {
				return fail(err)
			}
			byName := map[string]plan.Component{}
			for _, comp := range p.Components {
				byName[comp.Name] = comp
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 0, 2, ' ', 0)
			for _, name := range local.Order(p) { // upstream first
				comp := byName[name]
				fmt.Fprintf(tw, "%s\t%s\t%d\n", comp.Name, comp.Kind, comp.Replicas.Count)
			}
			return tw.Flush()
		},
	}
	tf.register(cmd, false)
	tf.registerPulsar(cmd, nil)
	return cmd
}

func newGetCmd() *cobra.Command {
	var tf targetFlags
	cmd := &cobra.Command{
		Use:   "get FUNCTION",
		Short: "Print a function's, source's or sink's plan, as a running local mesh runs it",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if tf.Backend == pulsarBackend {
				return pulsarGet(cmd, &tf, args[0])
			}
			c, err := tf.client()
			if err != nil {
				return err
			}
			p, err := c.Plan(cmd.Context())
			if err != nil {
				return fail(err)
			}
			for _, comp := range p.Components {
				if comp.Name == args[0] {
					enc := json.NewEncoder(cmd.OutOrStdout())
					enc.SetIndent("", "  ")
					enc.SetEscapeHTML(false)
					return enc.Encode(comp)
				}
			}
			return fail(fmt.Errorf("mesh %s has no function, source or sink %q", p.Mesh.Name, args[0]))
		},
	}
	tf.register(cmd, false)
	tf.registerPulsar(cmd, nil)
	return cmd
}

func newStatsCmd() *cobra.Command {
	var tf targetFlags
	cmd := &cobra.Command{
		Use:   "stats [FUNCTION]",
		Short: "Show the message counters of a mesh's functions, read from their instances",
		Long: `stats reads the counters each instance serves on /metrics and sums them per function:
of a local run, over its instances' restarts; on Nomad (--backend nomad), of the
instances running now, from each allocation's metrics port.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := tf.controller()
			if err != nil {
				return err
			}
			stats, names, err := c.Stats(cmd.Context(), optionalName(args))
			if err != nil {
				return fail(err)
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tUP\tRECEIVED\tPROCESSED\tUSER ERRORS\tSYSTEM ERRORS\tBAD INPUT\tDEAD LETTERED\tAVG LATENCY")
			for _, name := range names {
				s, ok := stats[name]
				if !ok {
					continue // not the function asked for
				}
				lat := "-"
				if s.LatencyCount > 0 {
					lat = fmt.Sprintf("%.2fms", s.LatencySumMs/float64(s.LatencyCount))
				}
				fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%d\t%d\t%d\t%s\n", name, up(s), s.Received, s.Processed,
					s.UserErrors, s.SystemErrors, s.BadInput, s.DeadLettered, lat)
			}
			return tw.Flush()
		},
	}
	tf.register(cmd, true)
	return cmd
}

func newTriggerCmd() *cobra.Command {
	var (
		tf      targetFlags
		pf      pulsarFlags
		value   string
		topic   string
		timeout time.Duration
	)
	cmd := &cobra.Command{
		Use:   "trigger FUNCTION --value V",
		Short: "Send a value to a function of a running local mesh and print what it writes",
		Long: `trigger sends --value to the function's input topic (--topic picks one of several),
encoded by the topic's schema (JSON text for json topics), and prints each message the
function writes to its output for it, one per line. A function that writes nothing for
it prints nothing once --timeout has passed; a sink has no output to wait for.
With --pulsar-url and --plan it reaches a mesh deployed on any backend.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if !cmd.Flags().Changed("value") {
				return usageErrorf("trigger needs --value V")
			}
			res, err := trigger(cmd, &tf, &pf, args[0], topic, value, timeout)
			if err != nil {
				return err
			}
			for _, o := range res.Outputs {
				fmt.Fprintln(cmd.OutOrStdout(), o)
			}
			if len(res.Outputs) == 0 {
				fmt.Fprintf(cmd.ErrOrStderr(), "sent to %s; no output\n", res.Sent)
			}
			return nil
		},
	}
	tf.register(cmd, false)
	pf.register(cmd)
	tf.registerPulsar(cmd, &pf.secure)
	cmd.Flags().StringVar(&value, "value", "", "the value to send, as text")
	cmd.Flags().StringVar(&topic, "topic", "", "the input topic to send to (default: the function's first)")
	cmd.Flags().DurationVar(&timeout, "timeout", 10*time.Second, "how long to wait for output")
	return cmd
}

func newQueryStateCmd() *cobra.Command {
	var tf targetFlags
	var pf pulsarFlags
	cmd := &cobra.Command{
		Use:   "querystate FUNCTION KEY",
		Short: "Print one key of a function's state: a counter or a value",
		Long: `querystate prints one key of a function's state as Pulsar's FunctionState does: a
counter's numberValue, or a value's stringValue. With --pulsar-url and --plan it reads
the state of a mesh deployed on any backend.`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			var st direct.State
			var err error
			if tf.Backend == pulsarBackend {
				st, err = pulsarQueryState(cmd, &tf, args[0], args[1])
			} else if pf.set() {
				st, err = pf.queryState(cmd, args[0], args[1])
			} else {
				var c *local.Client
				if c, err = tf.client(); err == nil {
					st, err = c.QueryState(cmd.Context(), args[0], args[1])
					err = fail(err)
				}
			}
			if err != nil {
				return err
			}
			enc := json.NewEncoder(cmd.OutOrStdout())
			enc.SetIndent("", "  ")
			return enc.Encode(st)
		},
	}
	tf.register(cmd, false)
	pf.register(cmd)
	tf.registerPulsar(cmd, &pf.secure)
	return cmd
}

func newPutStateCmd() *cobra.Command {
	var (
		tf      targetFlags
		pf      pulsarFlags
		counter bool
	)
	cmd := &cobra.Command{
		Use:   "putstate FUNCTION KEY VALUE",
		Short: "Set one key of a function's state; its instances restart to read it",
		Long: `putstate sets KEY of FUNCTION's state to VALUE: a counter if --counter is given or the
key holds a counter already (VALUE is then an integer), else a text value. The
function's running instances keep a copy of their state, so they are stopped first,
settling what they have in flight, and started again once the value is written.
With --pulsar-url and --plan it writes the state of a mesh deployed on any backend,
whose running instances take the value up within moments (one handling a message for
the same key at that moment may write over it).`,
		Args: cobra.ExactArgs(3),
		RunE: func(cmd *cobra.Command, args []string) error {
			if tf.Backend == pulsarBackend {
				if err := pulsarPutState(cmd, &tf, args[0], args[1], args[2], counter); err != nil {
					return err
				}
			} else if pf.set() {
				if err := pf.putState(cmd, args[0], args[1], args[2], counter); err != nil {
					return err
				}
			} else {
				c, err := tf.client()
				if err != nil {
					return err
				}
				if err := c.PutState(cmd.Context(), args[0], args[1], args[2], counter); err != nil {
					return fail(err)
				}
			}
			fmt.Fprintf(cmd.OutOrStdout(), "put %s in the state of %s\n", args[1], args[0])
			return nil
		},
	}
	tf.register(cmd, false)
	pf.register(cmd)
	tf.registerPulsar(cmd, &pf.secure)
	cmd.Flags().BoolVar(&counter, "counter", false, "set a counter (VALUE is an integer)")
	return cmd
}

func newLogsCmd() *cobra.Command {
	var (
		tf   targetFlags
		opts local.LogOptions
	)
	cmd := &cobra.Command{
		Use:   "logs FUNCTION",
		Short: "Print the logs (standard error) of a function's instances in a running local mesh",
		Long: `logs prints the standard error of each instance of FUNCTION (a source or sink too),
one instance after the other. When it has several instances, each line starts with
the instance's name, as in "count-1 | ".

--tail N prints only the last N lines of each instance's log. --follow (-f) then keeps
printing lines as they are written, each whole, across restarts of the instances,
until Ctrl-C or until the run ends (meshc delete, Ctrl-C of meshc run, its sources
done): that ends it with exit status 0 and a note on standard error. A function
stopped with meshc stop is still followed, and shows its lines once started again.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if opts.Tail < local.AllLines {
				return usageErrorf("--tail %d: give a number of lines, or %d for all", opts.Tail, local.AllLines)
			}
			if tf.Backend == pulsarBackend {
				return pulsarLogs(cmd, &tf, args[0], opts)
			}
			c, err := tf.client()
			if err != nil {
				return err
			}
			err = c.Logs(cmd.Context(), args[0], opts, cmd.OutOrStdout())
			if errors.Is(err, local.ErrStopped) {
				fmt.Fprintf(cmd.ErrOrStderr(), "meshc: %v\n", err)
				return nil
			}
			return fail(err)
		},
	}
	tf.register(cmd, false)
	tf.registerPulsar(cmd, nil)
	cmd.Flags().IntVar(&opts.Tail, "tail", local.AllLines, "print only the last N lines of each instance's log (-1: all)")
	cmd.Flags().BoolVarP(&opts.Follow, "follow", "f", false, "keep printing lines as they are written, until Ctrl-C or the run ends")
	return cmd
}

func newWaitCmd() *cobra.Command {
	var (
		tf      targetFlags
		timeout time.Duration
	)
	cmd := &cobra.Command{
		Use:   "wait [FUNCTION]",
		Short: "Wait until a local mesh runs and every instance (or one function's) is ready",
		Long: `wait waits for a mesh started by meshc run to come up, then until every instance of
FUNCTION, or of the whole mesh, is running and ready (sources that are done count as
ready). For scripts: exit status 1 after --timeout.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
			defer cancel()
			err := waitReady(ctx, tf.target, optionalName(args))
			if err != nil {
				return fail(fmt.Errorf("not ready after %s: %w", timeout, err))
			}
			return nil
		},
	}
	tf.register(cmd, false)
	cmd.Flags().DurationVar(&timeout, "timeout", time.Minute, "how long to wait")
	return cmd
}

func waitReady(ctx context.Context, t target, name string) error {
	var last error
	for {
		if last = readyOnce(ctx, t, name); last == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return last
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func readyOnce(ctx context.Context, t target, name string) error {
	c, err := dialLocal(t)
	if err != nil {
		return err
	}
	st, err := c.Client.Status(ctx, name)
	if err != nil {
		return err
	}
	for _, s := range st {
		if s.State != local.Running && s.State != local.Done {
			return fmt.Errorf("%s-%d is %s", s.Component, s.Index, s.State)
		}
	}
	return nil
}

// localController is the controller of meshes started by meshc run.
type localController struct{ *local.Client }

func dialLocal(t target) (*localController, error) {
	if t.Addr != "" {
		return &localController{local.Dial(local.RunInfo{Addr: t.Addr})}, nil
	}
	info, err := local.Find(t.Mesh)
	if err != nil {
		return nil, err
	}
	return &localController{local.Dial(info)}, nil
}

func (c *localController) Stats(ctx context.Context, function string) (map[string]counters.Counters, []string, error) {
	stats, err := c.Client.Stats(ctx, function)
	if err != nil {
		return nil, nil, err
	}
	p, err := c.Plan(ctx)
	if err != nil {
		return nil, nil, err
	}
	return stats, local.Order(p), nil // upstream first, as list and status
}

func (c *localController) Status(ctx context.Context, w io.Writer, function string) error {
	st, err := c.Client.Status(ctx, function)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tKIND\tINSTANCE\tSTATE\tRESTARTS\tPID\tLAST EXIT")
	for _, s := range st {
		pid, exit := "-", s.LastExit
		if s.PID != 0 {
			pid = fmt.Sprint(s.PID)
		}
		if exit == "" {
			exit = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%d\t%s\t%s\n", s.Component, s.Kind, s.Index, s.State, s.Restarts, pid, exit)
	}
	return tw.Flush()
}

func (c *localController) Start(ctx context.Context, function string) error {
	return c.Do(ctx, "start", function)
}

func (c *localController) Stop(ctx context.Context, function string) error {
	return c.Do(ctx, "stop", function)
}

func (c *localController) Restart(ctx context.Context, function string) error {
	return c.Do(ctx, "restart", function)
}

// Delete ends the run and waits until it has stopped answering, its
// instances stopped.
func (c *localController) Delete(ctx context.Context) error {
	if err := c.Do(ctx, "delete", ""); err != nil {
		return err
	}
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		if _, err := c.Client.Status(ctx, ""); err != nil {
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("the mesh still runs two minutes after it was told to stop")
}
