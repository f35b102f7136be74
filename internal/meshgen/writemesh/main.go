package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/meshc/meshc/internal/meshgen"
)

func main() {
	n := flag.Int("functions", 100000, "functions in the generated mesh")
	per := flag.Int("per", 10000, "functions per file")
	shape := flag.String("shape", string(meshgen.Mixed), "how the functions are wired: chain, fanout, fanin or mixed")
	out := flag.String("o", "", "the folder to write the files in (required)")
	flag.Parse()
	if err := write(*out, meshgen.Shape(*shape), *n, *per); err != nil {
		fmt.Fprintf(os.Stderr, "writemesh: %v\n", err)
		os.Exit(1)
	}
}

func write(dir string, shape meshgen.Shape, n, per int) error {
	switch {
	case dir == "":
		return fmt.Errorf("-o DIR is required: the folder to write the mesh's files in")
	case !slices.Contains(meshgen.Shapes, shape):
		return fmt.Errorf("-shape %q: want one of %v", shape, meshgen.Shapes)
	case n < 1 || per < 1:
		return fmt.Errorf("-functions and -per must be at least 1")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for i, src := range meshgen.Files(shape, n, per) {
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("part%03d.mesh", i)), []byte(src), 0o644); err != nil {
			return err
		}
	}
	return nil
}
