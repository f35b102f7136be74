package main

import (
	"bufio"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/meshc/meshc/compiler"
	"github.com/meshc/meshc/lang"
	"github.com/meshc/meshc/planner"
	"github.com/meshc/meshc/planner/plan"
	"github.com/spf13/cobra"
)

// paramFlags are the -p and --params flags that commands building a plan
// share.
type paramFlags struct {
	values []string // NAME=VALUE
	files  []string
}

func (pf *paramFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringArrayVarP(&pf.values, "param", "p", nil, "set parameter NAME=VALUE (repeatable; wins over --params)")
	cmd.Flags().StringArrayVar(&pf.files, "params", nil, "read parameters from a file of NAME = VALUE lines (repeatable)")
}

func newPlanCmd() *cobra.Command {
	var pf paramFlags
	var out string
	cmd := &cobra.Command{
		Use:   "plan FILE|DIR [-p NAME=VALUE]... [--params FILE]... [-o plan.json]",
		Short: "Compile a mesh into its deployment plan (stable JSON)",
		Long: `plan checks FILE (or DIR, whose .mesh files make one mesh) with its parameters and writes the plan: every topic and every
function, source and sink with what its instances need to run, and a hash per component
that changes only when its instances must restart. The output is sorted and stable:
the same mesh and parameters give the same bytes, fit to commit and diff.

Parameters come from --params files (NAME = VALUE lines, later files win) and then
-p NAME=VALUE flags, typed by the mesh's param declarations.`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: meshFiles,
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := buildPlan(cmd, args[0], &pf)
			if err != nil {
				return err
			}
			// The plan is written as it is encoded: a large one is never
			// held twice, as a plan and as its text.
			if out == "" || out == "-" {
				w := bufio.NewWriter(cmd.OutOrStdout())
				if err := plan.WriteTo(w, p); err != nil {
					return err
				}
				return w.Flush()
			}
			return replaceFile(out, func(w io.Writer) error { return plan.WriteTo(w, p) })
		},
	}
	pf.register(cmd)
	cmd.Flags().StringVarP(&out, "output", "o", "", "write the plan to this file instead of standard output")
	return cmd
}

// buildPlan parses, checks and plans a mesh file or folder, printing diagnostics.
// Extra checks run on the compiled mesh when it has no errors.
func buildPlan(cmd *cobra.Command, name string, pf *paramFlags, extra ...func(*compiler.Mesh) lang.Diagnostics) (*plan.Plan, error) {
	m, err := compileMesh(cmd, name, pf, extra...)
	if err != nil {
		return nil, err
	}
	return planner.Plan(m, planOptions(name)), nil
}

// planOptions plans the mesh given as name.
func planOptions(name string) planner.Options { return planner.Options{Source: filepath.ToSlash(name)} }

// collect merges parameter files and -p flags into NAME -> text. Values
// from files are checked here, where their positions are known.
func (pf *paramFlags) collect(cmd *cobra.Command, files []*lang.File, sources lang.Sources) (map[string]string, error) {
	declared := map[string]string{}
	for _, f := range files {
		for _, d := range f.Decls {
			if p, ok := d.(*lang.Param); ok && p.Type.Name != nil {
				declared[p.Name.Name] = p.Type.Name.Parts[0].Name
			}
		}
	}
	params := map[string]string{}
	var diags lang.Diagnostics
	for _, file := range pf.files {
		src, err := os.ReadFile(file)
		if err != nil {
			return nil, &exitError{code: exitFail, err: err}
		}
		sources[file] = src
		diags = append(diags, paramsFromFile(file, src, declared, params)...)
	}
	if len(diags) > 0 {
		sources.Render(cmd.ErrOrStderr(), diags)
		return nil, failed()
	}
	for _, kv := range pf.values {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, usageErrorf("-p %q: write -p NAME=VALUE", kv)
		}
		params[k] = v
	}
	return params, nil
}

// paramsFromFile reads NAME = VALUE lines into params, checking each name
// and value against the declarations.
func paramsFromFile(file string, src []byte, declared, params map[string]string) lang.Diagnostics {
	attrs, diags := lang.ParseAttrs(file, src)
	for _, a := range attrs {
		typ, ok := declared[a.Key().Name]
		if !ok {
			diags = append(diags, lang.Errorf(a.Key().Start(), a.Key().End(), "unknown parameter %q", a.Key().Name).WithHint(
				"the mesh declares: %s", strings.Join(slices.Sorted(maps.Keys(declared)), ", ")))
			continue
		}
		text, ok := a.Value().LiteralText()
		if !ok {
			diags = append(diags, lang.Errorf(a.Value().Start(), a.Value().End(), "parameter %s: want a single value, such as 3 or \"prod\"", a.Key().Name))
			continue
		}
		if _, err := compiler.ParseParam(compiler.ParamType(typ), text); err != nil {
			diags = append(diags, lang.Errorf(a.Value().Start(), a.Value().End(), "parameter %s: %v", a.Key().Name, err))
			continue
		}
		params[a.Key().Name] = text
	}
	return diags
}
