package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/meshc/meshc/backends/local"
	"github.com/meshc/meshc/internal/meshtest"
	"github.com/meshc/meshc/lang"
	"github.com/meshc/meshc/planner/plan"
)

type testOptions struct {
	run, junit, binary string
	verbose, json      bool
	timeout            time.Duration
}

func newTestCmd() *cobra.Command {
	var o testOptions
	cmd := &cobra.Command{
		Use:   "test [-run REGEXP] [-v] [-json] [-junit FILE] [--runtime-binary PATH] [FILE|DIR|DIR/...]...",
		Short: "Run the test cases of .meshtest files against their meshes, on the embedded broker",
		Long: `test runs the cases of each .meshtest file against its folder's mesh: the folder's
.mesh files when they declare one mesh between them, else (a folder of several meshes)
NAME.mesh beside NAME.meshtest. Each case runs on an embedded broker of its own with
the mesh's real function instances: it sends its messages to the topics that sources
or the outside write (sources and sinks do not run), waits until every function has
read all its inputs, and checks what the functions wrote, dead-lettered and kept in
state. Every case and value is checked against the mesh before anything runs.

FILE is a .meshtest file, DIR the test files in a folder, DIR/... those in a folder and
all folders below it; the default is the current folder. Flags may be written with one
dash, as go test takes them. Results read as go test's: a --- FAIL block per failing case
with each failed expectation at its position and a diff (-want +got), then ok or FAIL
per file; -json writes go test -json's events instead, -junit also writes JUnit XML.
The exit status is 1 if any case fails.`,
		ValidArgsFunction: func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
			return []string{"meshtest"}, cobra.ShellCompDirectiveFilterFileExt
		},
		// Flags are parsed here, so that -run may be written as go test
		// writes it.
		DisableFlagParsing: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			paths, help, err := parseTestFlags(cmd.Flags(), args)
			if err != nil {
				return usageErrorf("%v", err)
			}
			if help {
				return cmd.Help()
			}
			return runTests(cmd, paths, o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.run, "run", "", "run only the cases whose names match this regular expression")
	f.BoolVarP(&o.verbose, "verbose", "v", false, "show passing cases too")
	f.BoolVar(&o.json, "json", false, "write one JSON event a line, as go test -json does")
	f.StringVar(&o.junit, "junit", "", "also write the results as JUnit XML to this file")
	f.StringVar(&o.binary, "runtime-binary", "", "the instance binary, for meshes with go(...) functions (default: meshrt)")
	f.DurationVar(&o.timeout, "timeout", meshtest.DefaultTimeout, "how long a case that sets no timeout may take")
	return cmd
}

// parseTestFlags takes flags with one dash or two and returns the paths.
func parseTestFlags(f *pflag.FlagSet, args []string) (paths []string, help bool, err error) {
	var fixed []string
	for _, a := range args {
		if strings.HasPrefix(a, "-") && !strings.HasPrefix(a, "--") && len(a) > 2 {
			a = "-" + a
		}
		if a == "--h" || a == "-h" || a == "--help" {
			return nil, true, nil
		}
		fixed = append(fixed, a)
	}
	if err := f.Parse(fixed); err != nil {
		return nil, false, err
	}
	return f.Args(), false, nil
}

func runTests(cmd *cobra.Command, paths []string, o testOptions) error {
	var runRE *regexp.Regexp
	if o.run != "" {
		re, err := regexp.Compile(o.run)
		if err != nil {
			return usageErrorf("-run %q: %v", o.run, err)
		}
		runRE = re
	}
	if o.binary != "" {
		abs, err := filepath.Abs(o.binary)
		if err != nil {
			return usageErrorf("--runtime-binary: %v", err)
		}
		o.binary = abs
	}
	files, err := testFiles(paths)
	if err != nil {
		return &exitError{code: exitFail, err: err}
	}
	ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	var rep meshtest.Reporter = &meshtest.Text{W: cmd.OutOrStdout(), Verbose: o.verbose}
	if o.json {
		rep = &meshtest.JSON{W: cmd.OutOrStdout()}
	}
	opts := meshtest.Options{Binary: o.binary, Run: runRE, Timeout: o.timeout,
		Command: func(c *plan.Component) ([]string, error) { return local.Resolve(c.Runtime, selfCommand()) }}
	var results []*meshtest.FileResult
	for _, file := range files {
		fr := runTestFile(ctx, cmd, file, opts, rep)
		results = append(results, fr)
	}
	if o.junit != "" {
		if err := writeJUnit(o.junit, results); err != nil {
			return &exitError{code: exitFail, err: err}
		}
	}
	for _, fr := range results {
		if !fr.Passed() {
			return failed()
		}
	}
	return nil
}

// runTestFile loads one test file and runs its cases; a file that does
// not load is said with its diagnostics.
func runTestFile(ctx context.Context, cmd *cobra.Command, file string, opts meshtest.Options, rep meshtest.Reporter) *meshtest.FileResult {
	start := time.Now()
	fr := &meshtest.FileResult{File: file}
	suite, err := meshtest.Load(file)
	if err == nil && opts.Binary == "" {
		if what := suite.Binaryless(); what != "" {
			err = fmt.Errorf("%s: %s, which meshrt does not have: build an instance binary that registers it (its main calls runtime.Main) and pass --runtime-binary PATH", file, what)
		}
	}
	if err != nil {
		var le *meshtest.LoadError
		if errors.As(err, &le) {
			le.Sources.Render(cmd.ErrOrStderr(), le.Diags)
		} else {
			fmt.Fprintf(cmd.ErrOrStderr(), "meshc: %v\n", err)
		}
		fr.Err = err
		rep.File(fr)
		return fr
	}
	fr.Results = suite.Run(ctx, opts, rep)
	fr.Elapsed = time.Since(start)
	rep.File(fr)
	return fr
}

// testFiles finds the test files that paths name: files as they are,
// folders' own test files, and DIR/... every folder below DIR too.
func testFiles(paths []string) ([]string, error) {
	if len(paths) == 0 {
		paths = []string{"."}
	}
	var files []string
	for _, p := range paths {
		found, err := testFilesAt(p)
		if err != nil {
			return nil, err
		}
		if len(found) == 0 {
			return nil, fmt.Errorf("%s: no %s files: a mesh's test cases go in a NAME%s file in the mesh's folder", p, lang.TestExt, lang.TestExt)
		}
		for _, f := range found {
			if !slices.Contains(files, f) {
				files = append(files, f)
			}
		}
	}
	return files, nil
}

func testFilesAt(p string) ([]string, error) {
	if dir, ok := strings.CutSuffix(p, "..."); ok {
		dir = filepath.Clean(cmp.Or(strings.TrimSuffix(dir, "/"), "."))
		var files []string
		err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() && path != dir && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata") {
				return filepath.SkipDir
			}
			if !d.IsDir() && lang.IsTestFile(path) {
				files = append(files, path)
			}
			return nil
		})
		return files, err
	}
	st, err := os.Stat(p)
	if err != nil {
		return nil, err
	}
	if !st.IsDir() {
		if !lang.IsTestFile(p) {
			return nil, fmt.Errorf("%s is no test file: its name must end in %s", p, lang.TestExt)
		}
		return []string{p}, nil
	}
	return filepath.Glob(filepath.Join(p, "*"+lang.TestExt))
}

func writeJUnit(name string, results []*meshtest.FileResult) error {
	f, err := os.Create(name)
	if err != nil {
		return fmt.Errorf("--junit: %w", err)
	}
	if err := meshtest.WriteJUnit(f, results); err != nil {
		f.Close()
		return fmt.Errorf("--junit %s: %w", name, err)
	}
	return f.Close()
}
