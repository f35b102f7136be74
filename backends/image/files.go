package image

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/meshc/meshc/backends"
	"github.com/meshc/meshc/planner/plan"
)

// File is a file of this machine that goes into the image.
type File struct {
	Path   string // in the image: absolute, in WorkDir
	Source string // on this machine
}

// Note is something a function needs that is not copied into the image:
// a program found on PATH or at an absolute path, which the base image
// must have, or an argument that looks like a file but is not one.
type Note struct {
	Kind, Component string
	// FromBase is set when the base image must provide it.
	FromBase bool
	Message  string
}

// Files lists the files the mesh's exec(...) and wasm(...) functions
// need, resolved as meshc run resolves them: relative to dir, the mesh
// file's folder, which is the instances' working folder. In the image they
// keep their paths relative to WorkDir. A folder named as an argument is
// copied whole. err joins a backends.MeshError, for the component's use,
// per file that is missing or outside dir.
func Files(p *plan.Plan, dir string) (files []File, notes []Note, err error) {
	var errs []error
	seen := map[string]bool{}
	for i := range p.Components {
		found, ns, err := componentFiles(&p.Components[i], dir)
		for _, f := range found {
			if !seen[f.Path] {
				seen[f.Path] = true
				files = append(files, f)
			}
		}
		notes = append(notes, ns...)
		errs = append(errs, err)
	}
	slices.SortFunc(files, func(a, b File) int { return strings.Compare(a.Path, b.Path) })
	return files, notes, errors.Join(errs...)
}

// componentFiles is what one component needs: a wasm module, or an exec
// program when it is a path and the arguments that look like files.
func componentFiles(c *plan.Component, dir string) ([]File, []Note, error) {
	impl := c.Implementation
	kind := string(c.Kind)
	note := func(fromBase bool, format string, args ...any) Note {
		return Note{Kind: kind, Component: c.Name, FromBase: fromBase, Message: fmt.Sprintf(format, args...)}
	}
	switch {
	case impl.Kind == "wasm" && filepath.IsAbs(impl.Module):
		return nil, []Note{note(true, "the module %q is an absolute path: it is not copied, the base image must have it", impl.Module)}, nil
	case impl.Kind == "wasm":
		found, err := need(c, dir, "the WebAssembly module", impl.Module)
		return found, nil, err
	case impl.Kind != "exec" || len(impl.Command) == 0:
		return nil, nil, nil
	}
	var files []File
	var notes []Note
	var errs []error
	prog := impl.Command[0]
	switch {
	case !strings.Contains(prog, "/"):
		notes = append(notes, note(true, "runs %q from PATH: it is not copied, the base image (--base) must have it", prog))
	case filepath.IsAbs(prog):
		notes = append(notes, note(true, "runs %q, an absolute path: it is not copied, the base image (--base) must have it", prog))
	default:
		found, err := need(c, dir, "the program", prog)
		files, errs = append(files, found...), append(errs, err)
	}
	for _, arg := range impl.Command[1:] {
		found, n, err := argFiles(c, dir, arg)
		files, errs = append(files, found...), append(errs, err)
		if n != "" {
			notes = append(notes, note(false, "%s", n))
		}
	}
	return files, notes, errors.Join(errs...)
}

// argFiles copies an exec argument that looks like a file, as emit's
// warning names them: not a flag, with a dot or a slash. A missing .py
// script is an error; other missing ones are noted, since "0.5" or
// "example.com" are not files.
func argFiles(c *plan.Component, dir, arg string) ([]File, string, error) {
	if strings.HasPrefix(arg, "-") || !strings.ContainsAny(arg, "./") || filepath.IsAbs(arg) {
		return nil, "", nil
	}
	src := filepath.Join(dir, filepath.FromSlash(arg))
	if _, err := os.Stat(src); err != nil && !strings.HasSuffix(arg, ".py") {
		return nil, fmt.Sprintf("the argument %q looks like a file, but there is no %s: it is not copied", arg, src), nil
	}
	found, err := need(c, dir, "the file", arg)
	return found, "", err
}

// need lists the file rel names in dir, or every file under it when it
// is a folder, or says what is wrong at the component's use.
func need(c *plan.Component, dir, what, rel string) ([]File, error) {
	clean := filepath.Clean(filepath.FromSlash(rel))
	if !filepath.IsLocal(clean) {
		return nil, backends.Meshf(string(c.Kind), c.Name, "use", "%s %q is outside the mesh file's folder %s: an image holds only what is in it; move it there", what, rel, dir)
	}
	src := filepath.Join(dir, clean)
	st, err := os.Stat(src)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, backends.Meshf(string(c.Kind), c.Name, "use", "%s %q is missing: there is no %s; create it, or correct the path (relative to the mesh file's folder)", what, rel, src)
	}
	if err != nil {
		return nil, backends.Meshf(string(c.Kind), c.Name, "use", "%s %q: %w", what, rel, err)
	}
	if !st.IsDir() {
		return []File{{Path: path.Join(WorkDir, filepath.ToSlash(clean)), Source: src}}, nil
	}
	var files []File
	err = filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if st, err := os.Stat(p); err != nil || !st.Mode().IsRegular() {
			return err // a socket or such is no file to copy; a broken link is an error
		}
		r, err := filepath.Rel(dir, p)
		files = append(files, File{Path: path.Join(WorkDir, filepath.ToSlash(r)), Source: p})
		return err
	})
	if err != nil {
		return nil, backends.Meshf(string(c.Kind), c.Name, "use", "reading the folder %q: %w", rel, err)
	}
	return files, nil
}

// usesPython tells whether a function is a Python program: its program is
// python, or a .py script is its program or an argument.
func usesPython(p *plan.Plan) bool {
	for _, c := range p.Components {
		cmd := c.Implementation.Command
		if c.Implementation.Kind != "exec" || len(cmd) == 0 {
			continue
		}
		if strings.Contains(filepath.Base(cmd[0]), "python") {
			return true
		}
		for _, a := range cmd {
			if strings.HasSuffix(a, ".py") {
				return true
			}
		}
	}
	return false
}
