package nomad

import (
	"github.com/meshc/meshc/backends"
	"github.com/meshc/meshc/planner/plan"
)

// Files are what `meshc emit` writes for a plan: the mesh's job as JSON
// (for `nomad job run -json` and the HTTP API) and as HCL (for people and
// `nomad job run`), named MESH.nomad.json and MESH.nomad.hcl.
func Files(p *plan.Plan, o Options) ([]backends.File, error) {
	job, err := Job(p, o)
	if err != nil {
		return nil, err
	}
	js, err := JSON(job)
	if err != nil {
		return nil, err
	}
	hcl, err := HCL(job)
	if err != nil {
		return nil, err
	}
	files := []backends.File{
		{Path: p.Mesh.Name + ".nomad.json", Data: js},
		{Path: p.Mesh.Name + ".nomad.hcl", Data: hcl},
	}
	backends.Sort(files)
	return files, nil
}
