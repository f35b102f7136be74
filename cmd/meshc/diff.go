package main

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/meshc/meshc/planner"
	"github.com/meshc/meshc/planner/plan"
	"github.com/spf13/cobra"
)

func newDiffCmd() *cobra.Command {
	var pf paramFlags
	var format string
	cmd := &cobra.Command{
		Use:   "diff OLD NEW [-p NAME=VALUE]... [--format text|json|markdown]",
		Short: "Show what a change to a mesh changes in its deployment",
		Long: `diff compares two plans, each given as a .mesh file or a folder of them (planned
with the same parameters) or as a plan .json written by 'meshc plan'. It lists the components and
topics added, removed and changed, each changed value as old -> new, and whether the
change restarts running instances: a change of replicas alone restarts nothing.

Exit status, as diff(1): 0 when the plans are the same, 1 when they differ,
2 when a plan cannot be made or read.`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			render, ok := diffRenderers[format]
			if !ok {
				return usageErrorf("--format %q: use text, json or markdown", format)
			}
			var plans [2]*plan.Plan
			for i, name := range args {
				p, err := loadPlan(cmd, name, &pf)
				if err != nil {
					return asTrouble(err)
				}
				plans[i] = p
			}
			d := planner.Compare(plans[0], plans[1])
			if err := render(d, cmd.OutOrStdout()); err != nil {
				return err
			}
			if !d.Empty() {
				return failed()
			}
			return nil
		},
	}
	pf.register(cmd)
	cmd.Flags().StringVar(&format, "format", "text", "output format: text, json or markdown")
	return cmd
}

// asTrouble turns a failure into exit status 2, as diff(1) reports trouble.
func asTrouble(err error) error {
	if ee, ok := err.(*exitError); ok {
		return &exitError{code: exitUsage, err: ee.err}
	}
	return &exitError{code: exitUsage, err: err}
}

// loadPlan reads a plan file, or plans a mesh file or folder.
func loadPlan(cmd *cobra.Command, name string, pf *paramFlags) (*plan.Plan, error) {
	if info, err := os.Stat(name); !strings.HasSuffix(name, ".json") || (err == nil && info.IsDir()) {
		return buildPlan(cmd, name, pf)
	}
	data, err := os.ReadFile(name)
	if err != nil {
		return nil, readError(err)
	}
	p, err := plan.Decode(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return p, nil
}

var diffRenderers = map[string]func(planner.Diff, io.Writer) error{
	"text":     planner.Diff.WriteText,
	"markdown": planner.Diff.WriteMarkdown,
	"json":     planner.Diff.WriteJSON,
}
