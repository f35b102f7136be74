package nomad

import (
	"io"

	"github.com/hashicorp/nomad/api"

	"github.com/meshc/meshc/backends"
	"github.com/meshc/meshc/planner/plan"
)

// Files are what `meshc emit` writes for a plan: the mesh's job as JSON
// (for `nomad job run -json` and the HTTP API) and as HCL (for people and
// `nomad job run`), named MESH.nomad.json and MESH.nomad.hcl. Their text,
// tens of megabytes for a mesh of thousands of functions, is made as the
// files are written, and so are the job's groups, one at a time; the
// files are written one at a time.
func Files(p *plan.Plan, o Options) ([]backends.File, error) {
	j, err := newGroupedJob(p, o)
	if err != nil {
		return nil, err
	}
	files := []backends.File{
		{Path: p.Mesh.Name + ".nomad.json", Write: func(w io.Writer) error {
			var parts groupParts
			return writeJSON(w, j.job, func(i int) (*api.TaskGroup, error) { return j.groupIn(&parts, i) })
		}},
		{Path: p.Mesh.Name + ".nomad.hcl", Write: func(w io.Writer) error {
			var parts groupParts
			return writeHCL(w, j.job, func(i int) (*api.TaskGroup, error) { return j.groupIn(&parts, i) }, &parts)
		}},
	}
	backends.Sort(files)
	return files, nil
}
