package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/meshc/meshc/compiler"
	"github.com/meshc/meshc/lang"
	"github.com/spf13/cobra"
)

func newCheckCmd() *cobra.Command {
	var strict bool
	var format, target string
	var pf paramFlags
	var live liveFlags
	cmd := &cobra.Command{
		Use:   "check [--strict] [--format text|json|github] [-p NAME=VALUE]... [--params FILE]... [--pulsar-url URL [--admin-url URL]] FILE|DIR...",
		Short: "Check .mesh files and report every problem",
		Long: `check parses and compiles each FILE, a mesh of its own, or DIR, whose .mesh files
make one mesh together (its .meshtest files are tests), and reports every problem
in one run: unknown and duplicate names, invalid Pulsar names, topic cycles, schema
mismatches, topics nobody writes or reads, and option errors. SPEC.md lists the checks.
A file with syntax errors gets no further checks. Parameters (-p, --params, as for
plan) apply to every FILE; a parameter without a default must be given one.

With --target kubernetes, nomad or functionmesh, check also reports, at its place in
the mesh, what that target cannot run as written: what its backend refuses, and for
functionmesh what the Function Mesh operator's admission webhook would refuse (emit
and deploy always check their own target).

With --pulsar-url (and --admin-url, and the --pulsar-* options of a secured Pulsar,
each secret the mesh's pulsar block names given as a file), check also reads, through
the cluster's admin API, the schema registered for each of the mesh's topics, and
reports at the topic a schema of the mesh that the namespace's compatibility strategy
would refuse (an error), or one that differs from what the topic holds (a warning).

Formats: text (diagnostics with source snippets, on standard error), json (one stable
array on standard output) and github (GitHub Actions annotations on standard output).

Exit status: 0 when no file has errors (warnings allowed, unless --strict), 1 when one
has, or cannot be read, 2 for a usage mistake.`,
		Args:              cobra.MinimumNArgs(1),
		ValidArgsFunction: meshFiles,
		RunE: func(cmd *cobra.Command, args []string) error {
			write, ok := checkFormats[format]
			if !ok {
				return usageErrorf("--format %q: use text, json or github", format)
			}
			var extra []func(*compiler.Mesh) lang.Diagnostics
			if target != "" {
				checks, ok := targetChecks[target]
				if !ok {
					return usageErrorf("--target %q: choose one of %s", target, targetNames())
				}
				extra = checks()
			}
			var all lang.Diagnostics
			sources := lang.Sources{}
			broken := false // a file could not be read, or its parameters not
			for _, name := range args {
				m, diags, err := checkMesh(cmd, name, sources, &pf)
				for _, check := range extra {
					if m != nil && !diags.HasErrors() {
						diags = append(diags, check(m)...)
					}
				}
				if live.pulsarURL != "" && m != nil && !diags.HasErrors() && err == nil {
					var more lang.Diagnostics
					more, err = live.check(cmd, m)
					diags = append(diags, more...)
				}
				if err != nil {
					var ee *exitError
					if errors.As(err, &ee) && ee.code == exitUsage {
						return err
					}
					if ee == nil || ee.err != nil {
						fmt.Fprintf(cmd.ErrOrStderr(), "meshc: %v\n", err)
					}
					broken = true
				}
				all = append(all, diags...)
			}
			write(cmd, sources, all)
			switch {
			case broken || all.HasErrors():
				return failed()
			case strict && len(all) > 0:
				return failed()
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&strict, "strict", false, "treat warnings as errors: exit 1 on any diagnostic")
	cmd.Flags().StringVar(&format, "format", "text", "output format: text, json or github")
	cmd.Flags().StringVar(&target, "target", "", "also report what a deployment target refuses: kubernetes, nomad or functionmesh (the Function Mesh operator)")
	pf.register(cmd)
	live.register(cmd)
	return cmd
}

var checkFormats = map[string]func(*cobra.Command, lang.Sources, lang.Diagnostics){
	"text":   writeText,
	"json":   writeJSON,
	"github": writeGitHub,
}

func writeText(cmd *cobra.Command, sources lang.Sources, ds lang.Diagnostics) {
	w := cmd.ErrOrStderr()
	sources.Render(w, ds)
	if len(ds) > 0 {
		fmt.Fprintln(w, summary(ds))
	}
}

// summary counts errors and warnings: "2 errors, 1 warning". A file with
// too many errors ends in a note that is no error itself but stands for
// those not shown: "1070 errors (1020 not shown), 0 warnings".
func summary(ds lang.Diagnostics) string {
	errs, warns, hidden := 0, 0, 0
	for _, d := range ds {
		switch {
		case d.Omitted > 0:
			hidden += d.Omitted
		case d.Severity == lang.Error:
			errs++
		default:
			warns++
		}
	}
	s := plural(errs+hidden, "error")
	if hidden > 0 {
		s += fmt.Sprintf(" (%d not shown)", hidden)
	}
	return s + ", " + plural(warns, "warning")
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// jsonDiagnostic is the stable JSON form of a diagnostic: 1-based lines and
// byte columns, ends exclusive.
type jsonDiagnostic struct {
	File      string        `json:"file"`
	Line      int           `json:"line"`
	Column    int           `json:"column"`
	EndLine   int           `json:"end_line"`
	EndColumn int           `json:"end_column"`
	Severity  string        `json:"severity"`
	Message   string        `json:"message"`
	Hint      string        `json:"hint,omitempty"`
	Related   []jsonRelated `json:"related,omitempty"`
}

type jsonRelated struct {
	File      string `json:"file"`
	Line      int    `json:"line"`
	Column    int    `json:"column"`
	EndLine   int    `json:"end_line"`
	EndColumn int    `json:"end_column"`
	Message   string `json:"message"`
}

func writeJSON(cmd *cobra.Command, _ lang.Sources, ds lang.Diagnostics) {
	out := make([]jsonDiagnostic, 0, len(ds))
	for _, d := range ds {
		jd := jsonDiagnostic{File: d.Pos.Filename(), Line: d.Pos.Line(), Column: d.Pos.Column(),
			EndLine: d.End.Line(), EndColumn: d.End.Column(), Severity: d.Severity.String(), Message: d.Message, Hint: d.Hint}
		for _, r := range d.Related {
			jd.Related = append(jd.Related, jsonRelated{File: r.Pos.Filename(), Line: r.Pos.Line(), Column: r.Pos.Column(),
				EndLine: r.End.Line(), EndColumn: r.End.Column(), Message: r.Message})
		}
		out = append(out, jd)
	}
	enc := json.NewEncoder(cmd.OutOrStdout())
	enc.SetIndent("", "  ")
	_ = enc.Encode(out)
}

// writeGitHub prints workflow commands that GitHub Actions shows as
// annotations on the lines of a pull request.
func writeGitHub(cmd *cobra.Command, _ lang.Sources, ds lang.Diagnostics) {
	w := cmd.OutOrStdout()
	for _, d := range ds {
		msg := d.Message
		if d.Hint != "" {
			msg += "\n" + d.Hint
		}
		for _, r := range d.Related {
			msg += fmt.Sprintf("\n%s:%d:%d: %s", r.Pos.Filename(), r.Pos.Line(), r.Pos.Column(), r.Message)
		}
		endLine, endCol := d.End.Line(), d.End.Column()-1 // GitHub's end column is inclusive
		if endLine < d.Pos.Line() || (endLine == d.Pos.Line() && endCol < d.Pos.Column()) {
			endLine, endCol = d.Pos.Line(), d.Pos.Column()
		}
		fmt.Fprintf(w, "::%s file=%s,line=%d,col=%d,endLine=%d,endColumn=%d,title=meshc::%s\n", d.Severity,
			ghProperty(d.Pos.Filename()), d.Pos.Line(), d.Pos.Column(), endLine, endCol, ghData(msg))
	}
}

func ghData(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A").Replace(s)
}

func ghProperty(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A", ":", "%3A", ",", "%2C").Replace(s)
}
