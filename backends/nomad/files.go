package nomad

import (
	"io"

	"github.com/meshc/meshc/backends"
	"github.com/meshc/meshc/planner/plan"
)

// Files are what `meshc emit` writes for a plan: the mesh's job as JSON
// (for `nomad job run -json` and the HTTP API) and as HCL (for people and
// `nomad job run`), named MESH.nomad.json and MESH.nomad.hcl. Their text,
// tens of megabytes for a mesh of thousands of functions, is made as the
// files are written.
func Files(p *plan.Plan, o Options) ([]backends.File, error) {
	job, err := Job(p, o)
	if err != nil {
		return nil, err
	}
	files := []backends.File{
		{Path: p.Mesh.Name + ".nomad.json", Write: func(w io.Writer) error { return WriteJSON(w, job) }},
		{Path: p.Mesh.Name + ".nomad.hcl", Write: func(w io.Writer) error { return WriteHCL(w, job) }},
	}
	backends.Sort(files)
	return files, nil
}
