package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/meshc/meshc/planner"
	"github.com/meshc/meshc/planner/plan"
)

func newUpdateCmd() *cobra.Command {
	var (
		tf     targetFlags
		pf     paramFlags
		dryRun bool
	)
	cmd := &cobra.Command{
		Use:   "update FILE|DIR [-p NAME=VALUE]... [--dry-run]",
		Short: "Apply a changed mesh to its running local run, restarting only what changed",
		Long: `update plans FILE and applies it to the mesh of that name that meshc run runs, as
'pulsar-admin functions update' does for one function: it prints what meshc diff would,
then starts the components added, stops those removed (each settling what it has in
flight), restarts those whose plan changed, and adds or removes instances of those whose
instance count alone changed. Everything else goes on untouched. With --dry-run it only
prints the changes. Exit status 0 when applied or when there is nothing to change.`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: meshFiles,
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := buildPlan(cmd, args[0], &pf)
			if err != nil {
				return err
			}
			if tf.Mesh == "" && tf.Addr == "" {
				tf.Mesh = p.Mesh.Name
			}
			c, err := tf.client()
			if err != nil {
				return err
			}
			old, err := c.Plan(cmd.Context())
			if err != nil {
				return fail(err)
			}
			keepRuntimes(old, p)
			d := planner.Compare(old, p)
			if err := d.WriteText(cmd.OutOrStdout()); err != nil || d.Empty() || dryRun {
				return err
			}
			ch, err := c.Update(cmd.Context(), p)
			if err != nil {
				return fail(err)
			}
			for _, done := range []struct {
				what  string
				names []string
			}{{"stopped", ch.Stopped}, {"restarted", ch.Restarted}, {"rescaled", ch.Rescaled}, {"started", ch.Started}} {
				if len(done.names) > 0 {
					fmt.Fprintf(cmd.ErrOrStderr(), "%s %s\n", done.what, strings.Join(done.names, ", "))
				}
			}
			return nil
		},
	}
	tf.register(cmd, false)
	pf.register(cmd)
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "print the changes and apply nothing")
	return cmd
}

// keepRuntimes carries the instance binary a run was started with
// (--runtime-binary) over to the components of the new plan that name
// none, so that an update is not a change of binary.
func keepRuntimes(old, p *plan.Plan) {
	for i := range p.Components {
		c := &p.Components[i]
		for _, o := range old.Components {
			if o.Name == c.Name && c.Runtime.Binary == "" {
				c.Runtime.Binary = o.Runtime.Binary
			}
		}
	}
}
