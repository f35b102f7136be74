package main

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
)

// Exit codes, documented in README.md.
const (
	exitOK    = 0 // success
	exitFail  = 1 // the input has errors, or a check found differences
	exitUsage = 2 // bad flags or arguments
)

// exitError carries an exit code through cobra's error return. A nil msg
// means the details were already printed (diagnostics, diffs).
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit status %d", e.code)
	}
	return e.err.Error()
}

func (e *exitError) Unwrap() error { return e.err }

// failed reports that details were printed already and the exit code is 1.
func failed() error { return &exitError{code: exitFail} }

// usageErrorf reports a usage mistake: exit code 2.
func usageErrorf(format string, args ...any) error {
	return &exitError{code: exitUsage, err: fmt.Errorf(format, args...)}
}

// Main runs meshc with args and returns the process exit code. It is the
// whole program, so tests run it in-process.
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	root := newRootCmd()
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.Execute()
	if err == nil {
		return exitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil {
			fmt.Fprintf(stderr, "meshc: %v\n", ee.err)
		}
		return ee.code
	}
	fmt.Fprintf(stderr, "meshc: %v\n", err)
	if isUsage(err) {
		fmt.Fprintln(stderr, "Run 'meshc --help' for usage.")
		return exitUsage
	}
	return exitFail
}

// isUsage tells cobra's own argument and flag errors from failures.
func isUsage(err error) bool {
	msg := err.Error()
	for _, s := range []string{"unknown command", "unknown flag", "unknown shorthand", "flag needs an argument",
		"invalid argument", "accepts ", "requires at least", "requires at most", "arg(s)"} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "meshc",
		Short: "Compile, plan and run meshes of Pulsar functions",
		Long: `meshc compiles .mesh files, which describe many Pulsar functions, sources and sinks
wired together by topics, into a checked graph, a reviewable plan, and deployments:
local processes on an embedded broker, Nomad jobs, or Kubernetes manifests.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.CompletionOptions.HiddenDefaultCmd = false
	root.AddCommand(
		newFmtCmd(),
		newParseCmd(),
		newPlanCmd(),
		newDiffCmd(),
		newCheckCmd(), newGraphCmd(),
		newBrokerCmd(),
		newEmitCmd(),
		newDeployCmd(),
		newImageCmd(),
	)
	root.AddCommand(newRunCmd(), newUpdateCmd(), newInstanceCmd(), newTestCmd())
	root.AddCommand(lifecycleCmds()...)
	return root
}

// meshFiles completes file arguments with .mesh files.
func meshFiles(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
	return []string{"mesh"}, cobra.ShellCompDirectiveFilterFileExt
}
