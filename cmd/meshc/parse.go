package main

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/meshc/meshc/lang"
	"github.com/spf13/cobra"
)

func newParseCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "parse [--json] FILE",
		Short: "Parse a .mesh file and print its syntax tree",
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

Syntax errors are printed with their positions and the exit code is 1.`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: meshFiles,
		RunE: func(cmd *cobra.Command, args []string) error {
			name := args[0]
			src, err := os.ReadFile(name)
			if err != nil {
				return &exitError{code: exitFail, err: err}
			}
			f, diags := lang.ParseFile(name, src)
			if len(diags) > 0 {
				lang.Sources{name: src}.Render(cmd.ErrOrStderr(), diags)
				return failed()
			}
			if !asJSON {
				return f.WriteTree(cmd.OutOrStdout())
			}
			enc := json.NewEncoder(cmd.OutOrStdout())
			enc.SetIndent("", "  ")
			if err := enc.Encode(f); err != nil {
				return fmt.Errorf("encoding the syntax tree: %w", err)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the syntax tree as JSON, for tools")
	return cmd
}
