package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/meshc/meshc/compiler"
	"github.com/meshc/meshc/lang"
)

// meshExt ends the name of a mesh file.
const meshExt = ".mesh"

// readMesh reads the mesh a command is given: one file, or a folder whose
// .mesh files make one mesh together, as a Go package's files do (its
// .meshtest files are tests, not part of the mesh). It returns the file
// names in order and adds their sources to sources.
func readMesh(name string, sources lang.Sources) ([]string, error) {
	names, err := meshFileNames(name)
	if err != nil {
		return nil, err
	}
	for _, n := range names {
		src, err := os.ReadFile(n)
		if err != nil {
			return nil, readError(err)
		}
		sources[n] = src
	}
	return names, nil
}

// meshFileNames names the files of the mesh given: the file itself, or a
// folder's .mesh files in name order.
func meshFileNames(name string) ([]string, error) {
	info, err := os.Stat(name)
	if err != nil {
		return nil, readError(err)
	}
	if !info.IsDir() {
		return []string{name}, nil
	}
	return filesIn(name, isMeshFile, "no "+meshExt+" files in this folder; give a mesh file or a folder that holds one")
}

func isMeshFile(name string) bool { return strings.HasSuffix(name, meshExt) && !lang.IsTestFile(name) }

// filesIn lists the files of a folder that keep takes, in name order;
// none is an error that says none.
func filesIn(dir string, keep func(string) bool, none string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, readError(err)
	}
	var names []string
	for _, e := range entries {
		if !e.IsDir() && keep(e.Name()) {
			names = append(names, filepath.Join(dir, e.Name()))
		}
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("%s: %s", dir, none)
	}
	sort.Strings(names)
	return names, nil
}

// readError says what to do about a file or folder that cannot be read.
func readError(err error) error {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("%w: check the path, or give a mesh file or a folder of them", err)
	case errors.Is(err, fs.ErrPermission):
		return fmt.Errorf("%w: make it readable (chmod) or give another path", err)
	}
	return err
}

// checkMesh reads, parses and checks the mesh given as a file or a folder,
// with its parameters. It returns the syntax errors of its files or, if
// they have none, the compiler's mesh and diagnostics, each at its own
// file's positions. An error means the mesh or its parameters could not be
// read; the problems of parameters were printed already.
func checkMesh(cmd *cobra.Command, name string, sources lang.Sources, pf *paramFlags) (*compiler.Mesh, lang.Diagnostics, error) {
	names, err := readMesh(name, sources)
	if err != nil {
		return nil, nil, &exitError{code: exitFail, err: err}
	}
	files := make([]*lang.File, 0, len(names))
	var syntax lang.Diagnostics
	for _, n := range names {
		f, diags := lang.Parse(n, sources[n])
		syntax = append(syntax, diags...)
		files = append(files, f)
	}
	if len(syntax) > 0 {
		return nil, syntax, nil
	}
	params, err := pf.collect(cmd, files, sources)
	if err != nil {
		return nil, nil, err
	}
	m, diags := compiler.Compile(files, params)
	return m, diags, nil
}

// compileMesh checks the mesh given as a file or a folder and runs the
// extra checks on it when it has no errors. Errors are printed with their
// snippets; warnings too.
func compileMesh(cmd *cobra.Command, name string, pf *paramFlags, extra ...func(*compiler.Mesh) lang.Diagnostics) (*compiler.Mesh, error) {
	m, _, err := compileMeshSources(cmd, name, pf, extra...)
	return m, err
}

// compileMeshSources is compileMesh that also gives the sources of the
// mesh, to place in them what is found wrong with it later.
func compileMeshSources(cmd *cobra.Command, name string, pf *paramFlags, extra ...func(*compiler.Mesh) lang.Diagnostics) (*compiler.Mesh, lang.Sources, error) {
	sources := lang.Sources{}
	m, diags, err := checkMesh(cmd, name, sources, pf)
	if err != nil {
		return nil, nil, err
	}
	for _, check := range extra {
		if m != nil && !diags.HasErrors() {
			diags = append(diags, check(m)...)
		}
	}
	sources.Render(cmd.ErrOrStderr(), diags)
	if m == nil || diags.HasErrors() {
		return nil, nil, failed()
	}
	return m, sources, nil
}

// meshDir is the folder a mesh's relative paths start from: the folder
// given, or the one holding the file given.
func meshDir(name string) string {
	if info, err := os.Stat(name); err == nil && info.IsDir() {
		return name
	}
	return filepath.Dir(name)
}
