package main

import (
	"encoding/json"
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
		Long: `diff compares two plans, each given as a .mesh file (planned with the same
parameters) or as a plan .json written by 'meshc plan'. It lists the components and
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
			if err := render(cmd.OutOrStdout(), d); err != nil {
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

// loadPlan reads a plan file, or plans a mesh file.
func loadPlan(cmd *cobra.Command, name string, pf *paramFlags) (*plan.Plan, error) {
	if !strings.HasSuffix(name, ".json") {
		return buildPlan(cmd, name, pf)
	}
	data, err := os.ReadFile(name)
	if err != nil {
		return nil, err
	}
	p, err := plan.Decode(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return p, nil
}

var diffRenderers = map[string]func(io.Writer, planner.Diff) error{
	"text":     diffText,
	"markdown": diffMarkdown,
	"json": func(w io.Writer, d planner.Diff) error {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(d)
	},
}

func diffText(w io.Writer, d planner.Diff) error {
	if d.Empty() {
		_, err := fmt.Fprintln(w, "no changes")
		return err
	}
	for _, c := range d.Changes {
		fmt.Fprintf(w, "%s %s%s\n", c.Action, c.What, restartNote(c))
		for _, f := range c.Fields {
			fmt.Fprintf(w, "    %s: %s -> %s\n", f.Path, f.Old, f.New)
		}
	}
	return nil
}

func diffMarkdown(w io.Writer, d planner.Diff) error {
	if d.Empty() {
		_, err := fmt.Fprintln(w, "No changes to the deployment.")
		return err
	}
	fmt.Fprintln(w, "| change | what | restarts | details |\n| --- | --- | --- | --- |")
	for _, c := range d.Changes {
		var details []string
		for _, f := range c.Fields {
			cell := fmt.Sprintf("`%s`: `%s` → `%s`", f.Path, f.Old, f.New)
			details = append(details, strings.ReplaceAll(cell, "|", `\|`))
		}
		restart := "no"
		if c.Restart {
			restart = "yes"
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s |\n", c.Action, c.What, restart, strings.Join(details, "<br>"))
	}
	return nil
}

func restartNote(c planner.Change) string {
	if c.Action == "changed" && !c.Restart {
		return " (no restart)"
	}
	if c.Action == "changed" {
		return " (restarts instances)"
	}
	return ""
}
