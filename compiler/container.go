package compiler

import (
	"fmt"
	"strings"

	"github.com/meshc/meshc/lang"
)

// ImageFiles warns, for a mesh bound for containers built from meshc's
// own image (which holds the instance runtime and nothing else), of each
// exec and wasm function whose program, module or files the image must
// hold: the instance runs them inside the container, where the files
// beside the mesh on the machine that emitted it are not.
func ImageFiles(image string) func(*Mesh) lang.Diagnostics {
	return func(m *Mesh) lang.Diagnostics {
		var ds lang.Diagnostics
		for _, c := range m.Components {
			files := implFiles(c.Impl)
			if len(files) == 0 {
				continue
			}
			at := c.Options.Set.At("use")
			ds = append(ds, lang.Warningf(at.Start(), at.End(), "%s %s runs %s: the image %s must hold %s",
				c.Kind, c.Name, c.Impl, image, strings.Join(files, " and ")).WithHint(
				"meshc image builds one that holds them: pass the digest it prints with --image"))
		}
		ds.Sort()
		return ds
	}
}

// implFiles names what an implementation needs from the file system: an
// exec's program and the arguments that look like files, a wasm module.
func implFiles(i Impl) []string {
	switch i.Kind {
	case ImplWasm:
		return []string{quoted(i.Module)}
	case ImplExec:
		if len(i.Command) == 0 {
			return nil
		}
		files := []string{"the program " + quoted(i.Command[0])}
		for _, a := range i.Command[1:] {
			if !strings.HasPrefix(a, "-") && strings.ContainsAny(a, "./") {
				files = append(files, quoted(a))
			}
		}
		return files
	}
	return nil
}

func quoted(s string) string { return fmt.Sprintf("%q", s) }
