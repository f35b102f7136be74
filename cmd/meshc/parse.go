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
		Use:   "parse --json FILE",
		Short: "Parse a .mesh file and dump its syntax tree",
		Long: `parse reads FILE and prints its syntax tree as JSON for tools: every node with its
start and end position (file, line, column, byte offset), and the comments apart.
Syntax errors are printed with their positions and the exit code is 1.`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: meshFiles,
		RunE: func(cmd *cobra.Command, args []string) error {
			if !asJSON {
				return usageErrorf("parse prints JSON only: pass --json")
			}
			name := args[0]
			src, err := os.ReadFile(name)
			if err != nil {
				return &exitError{code: exitFail, err: err}
			}
			f, diags := lang.Parse(name, src)
			if len(diags) > 0 {
				lang.Sources{name: src}.Render(cmd.ErrOrStderr(), diags)
				return failed()
			}
			enc := json.NewEncoder(cmd.OutOrStdout())
			enc.SetIndent("", "  ")
			if err := enc.Encode(f); err != nil {
				return fmt.Errorf("encoding the syntax tree: %w", err)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the syntax tree as JSON")
	return cmd
}
