package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/meshc/meshc/lang"
	"github.com/spf13/cobra"
)

func newParseCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "parse [--json] FILE|DIR",
		Short: "Parse a .mesh file, or a folder's, and print its syntax tree",
		Long: `parse reads FILE and prints its syntax tree.

By default the tree is for reading: one node per line, indented by depth, each
with its kind, its text (names, literal values as written, references and types
inline) and the line:col where it starts. The file's comments are listed after
the declarations, in source order:

  function split  29:1
    input sentences  29:16
    output words  29:30
    attr use  30:3
      ref builtin.split_words  30:9

With --json it is JSON for tools, every key in lower camelCase: each declaration
with its "kind", each node with its "pos" and "end" (filename, byte offset, line,
column; end is just past the node), and the comments apart.

DIR stands for the .mesh files of a folder, the files of one mesh, in name
order: the tree gives each as a line "file NAME" with its nodes indented
below it; --json gives {"folder": DIR, "files": [...]}, one object a file.

Syntax errors are printed with their positions and the exit code is 1; in
a folder, those of every file, and nothing is printed on standard output.`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: meshFiles,
		RunE: func(cmd *cobra.Command, args []string) error {
			name := args[0]
			info, err := os.Stat(name)
			if err != nil {
				return &exitError{code: exitFail, err: readError(err)}
			}
			if info.IsDir() {
				return parseFolder(cmd, name, asJSON)
			}
			src, err := os.ReadFile(name)
			if err != nil {
				return &exitError{code: exitFail, err: readError(err)}
			}
			f, diags := lang.ParseFile(name, src)
			if len(diags) > 0 {
				lang.Sources{name: src}.Render(cmd.ErrOrStderr(), diags)
				return failed()
			}
			if !asJSON {
				return f.WriteTree(cmd.OutOrStdout())
			}
			return writeSyntaxJSON(cmd.OutOrStdout(), f)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the syntax tree as JSON, for tools")
	return cmd
}

// folderTree is a folder's syntax trees.
type folderTree struct {
	Folder string
	Files  []*lang.File
}

// writeFolderJSON writes {"folder": DIR, "files": [...]} as an encoder
// of the whole with two spaces of indent would, but a file at a time, so
// that a large mesh's JSON, many times its source, is never all in
// memory; each tree is let go once written.
func writeFolderJSON(w io.Writer, t folderTree) error {
	folder, err := json.Marshal(t.Folder)
	if err != nil {
		return fmt.Errorf("encoding the syntax tree: %w", err)
	}
	fmt.Fprintf(w, "{\n  \"folder\": %s,\n  \"files\": [", folder)
	for i, f := range t.Files {
		raw, err := f.MarshalJSON()
		if err != nil {
			return fmt.Errorf("encoding the syntax tree of %s: %w", f.Name, err)
		}
		var escaped, indented bytes.Buffer
		json.HTMLEscape(&escaped, raw)
		if err := json.Indent(&indented, escaped.Bytes(), "    ", "  "); err != nil {
			return fmt.Errorf("encoding the syntax tree of %s: %w", f.Name, err)
		}
		if i > 0 {
			io.WriteString(w, ",")
		}
		io.WriteString(w, "\n    ")
		if _, err := indented.WriteTo(w); err != nil {
			return err
		}
		t.Files[i] = nil
	}
	_, err = io.WriteString(w, "\n  ]\n}\n")
	return err
}

// parseFolder prints the syntax trees of a folder's mesh files, or the
// syntax errors of them all.
func parseFolder(cmd *cobra.Command, dir string, asJSON bool) error {
	sources := lang.Sources{}
	names, err := readMesh(dir, sources)
	if err != nil {
		return &exitError{code: exitFail, err: err}
	}
	tree := folderTree{Folder: dir}
	var diags lang.Diagnostics
	for _, n := range names {
		f, ds := lang.Parse(n, sources[n])
		diags = append(diags, ds...)
		tree.Files = append(tree.Files, f)
	}
	if len(diags) > 0 {
		sources.Render(cmd.ErrOrStderr(), diags)
		return failed()
	}
	out := bufio.NewWriter(cmd.OutOrStdout())
	if asJSON {
		if err := writeFolderJSON(out, tree); err != nil {
			return err
		}
		return out.Flush()
	}
	for _, f := range tree.Files {
		var b strings.Builder
		if err := f.WriteTree(&b); err != nil {
			return err
		}
		fmt.Fprintf(out, "file %s\n", f.Name)
		for line := range strings.Lines(b.String()) {
			out.WriteString("  ")
			out.WriteString(line)
		}
	}
	return out.Flush()
}

func writeSyntaxJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("encoding the syntax tree: %w", err)
	}
	return nil
}
