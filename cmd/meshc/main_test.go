package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/meshc/meshc/internal/meshgen"
)

// TestMain lets scripts run meshc in-process as the "meshc" command, and
// write a generated mesh of N functions into DIR with "genmesh N DIR".
func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"meshc":   func() { os.Exit(Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)) },
		"genmesh": func() { os.Exit(genMesh(os.Args[1:])) },
	})
}

// genMesh writes a generated mesh of args[0] functions into the folder
// args[1].
func genMesh(args []string) int {
	n, err := strconv.Atoi(args[0])
	if err == nil {
		err = os.MkdirAll(args[1], 0o755)
	}
	for i, src := range meshgen.Files(meshgen.Mixed, n, 10000) {
		if err == nil {
			err = os.WriteFile(filepath.Join(args[1], fmt.Sprintf("part%d.mesh", i)), []byte(src), 0o644)
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "genmesh:", err)
		return 1
	}
	return 0
}

// TestScripts runs the CLI scenarios in testdata/script/*.txtar.
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:                 "testdata/script",
		RequireExplicitExec: true,
		UpdateScripts:       os.Getenv("UPDATE_SCRIPTS") == "1",
	})
}
