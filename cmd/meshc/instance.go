package main

import (
	"os"

	"github.com/spf13/cobra"

	"github.com/meshc/meshc/runtime"
)

// newInstanceCmd is meshrt built into meshc, so that meshc alone runs a
// mesh: meshc run starts `meshc instance` when no meshrt is found beside
// it. Flags and environment are meshrt's.
func newInstanceCmd() *cobra.Command {
	return &cobra.Command{
		Use:                "instance [-plan FILE] [-pulsar-url URL] [-listen ADDR]",
		Short:              "Run one instance of a function, source or sink with the built-ins (as meshrt does)",
		Hidden:             true,
		DisableFlagParsing: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			os.Args = append([]string{"meshc instance"}, args...) // runtime.Main reads its flags from os.Args
			runtime.Main(runtime.Builtins())
			return nil
		},
	}
}
