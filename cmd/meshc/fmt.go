package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/meshc/meshc/lang"
	"github.com/meshc/meshc/lang/format"
	"github.com/rogpeppe/go-internal/diff"
	"github.com/spf13/cobra"
)

func newFmtCmd() *cobra.Command {
	var write, list, showDiff bool
	cmd := &cobra.Command{
		Use:   "fmt [-w|-l|-d] [FILE|DIR...]",
		Short: "Format .mesh files in the one canonical layout",
		Long: `fmt prints each FILE in the canonical layout, keeping its comments. A DIR
stands for its .mesh and .meshtest files, in name order (not the folders below it).
With no FILE it formats standard input to standard output.

  -w  rewrite the files in place
  -l  list the files whose layout differs (exit 1 if any)
  -d  print a unified diff for each file whose layout differs (exit 1 if any)`,
		ValidArgsFunction: meshFiles,
		RunE: func(cmd *cobra.Command, args []string) error {
			if n := count(write, list, showDiff); n > 1 {
				return usageErrorf("-w, -l and -d exclude each other")
			}
			if len(args) == 0 {
				if write {
					return usageErrorf("-w needs file names: it cannot rewrite standard input")
				}
				return fmtStdin(cmd, list, showDiff)
			}
			return fmtFiles(cmd, args, write, list, showDiff)
		},
	}
	cmd.Flags().BoolVarP(&write, "write", "w", false, "rewrite files in place")
	cmd.Flags().BoolVarP(&list, "list", "l", false, "list files whose layout differs")
	cmd.Flags().BoolVarP(&showDiff, "diff", "d", false, "print diffs instead of rewriting")
	return cmd
}

func count(flags ...bool) int {
	n := 0
	for _, f := range flags {
		if f {
			n++
		}
	}
	return n
}

func fmtStdin(cmd *cobra.Command, list, showDiff bool) error {
	src, err := io.ReadAll(cmd.InOrStdin())
	if err != nil {
		return fmt.Errorf("reading standard input: %w", err)
	}
	changed, err := fmtOne(cmd, "<stdin>", src, false, list, showDiff)
	if err != nil {
		return err
	}
	if changed && (list || showDiff) {
		return failed()
	}
	return nil
}

// fmtFiles formats every file, a folder's files in its place, and reports
// all failures before exiting.
func fmtFiles(cmd *cobra.Command, args []string, write, list, showDiff bool) error {
	names, bad := fmtTargets(cmd, args)
	differ := false
	for _, name := range names {
		src, err := os.ReadFile(name)
		if err != nil {
			fmt.Fprintf(cmd.ErrOrStderr(), "meshc: %v\n", readError(err))
			bad = true
			continue
		}
		changed, err := fmtOne(cmd, name, src, write, list, showDiff)
		if err != nil {
			if !errors.Is(err, errPrinted) {
				fmt.Fprintf(cmd.ErrOrStderr(), "meshc: %v\n", err)
			}
			bad = true
		}
		differ = differ || changed
	}
	if bad || (differ && (list || showDiff)) {
		return failed()
	}
	return nil
}

// fmtTargets names the files args stand for: a folder its .mesh and
// .meshtest files. A folder that cannot be listed or holds none is said
// and left out; bad reports that.
func fmtTargets(cmd *cobra.Command, args []string) (names []string, bad bool) {
	for _, arg := range args {
		if info, err := os.Stat(arg); err != nil || !info.IsDir() {
			names = append(names, arg) // reading it says what is wrong
			continue
		}
		files, err := filesIn(arg, isSourceFile, "no "+meshExt+" or "+lang.TestExt+" files in this folder; give the folder that holds them, or files")
		if err != nil {
			fmt.Fprintf(cmd.ErrOrStderr(), "meshc: %v\n", err)
			bad = true
			continue
		}
		names = append(names, files...)
	}
	return names, bad
}

// isSourceFile takes the files fmt formats in a folder: its mesh and its
// tests.
func isSourceFile(name string) bool { return isMeshFile(name) || lang.IsTestFile(name) }

var errPrinted = errors.New("diagnostics printed")

// fmtOne formats one source and reports whether its layout changed.
func fmtOne(cmd *cobra.Command, name string, src []byte, write, list, showDiff bool) (bool, error) {
	out, err := format.Format(name, src)
	if err != nil {
		var ds lang.Diagnostics
		if errors.As(err, &ds) {
			lang.Sources{name: src}.Render(cmd.ErrOrStderr(), ds)
			return false, errPrinted
		}
		return false, err
	}
	changed := !bytes.Equal(src, out)
	w := cmd.OutOrStdout()
	switch {
	case list:
		if changed {
			fmt.Fprintln(w, name)
		}
	case showDiff:
		if changed {
			w.Write(diff.Diff(name+".orig", src, name, out))
		}
	case write:
		if changed {
			return true, writeFileKeepMode(name, out)
		}
	default:
		w.Write(out)
	}
	return changed, nil
}

// writeFileKeepMode replaces a file's contents without changing its mode.
func writeFileKeepMode(name string, data []byte) error {
	info, err := os.Stat(name)
	if err != nil {
		return err
	}
	tmp := name + ".meshc-fmt"
	if err := os.WriteFile(tmp, data, info.Mode().Perm()); err != nil {
		return fmt.Errorf("writing %s: %w", name, err)
	}
	return os.Rename(tmp, name)
}
