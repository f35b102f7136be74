package pulsarworker

import (
	"bytes"
	"encoding/json"

	"github.com/meshc/meshc/backends"
	"github.com/meshc/meshc/planner/plan"
)

// Files writes the FunctionConfig of each component as NAME.json, sorted
// by name: what deploy sends, and what `pulsar-admin functions create
// --function-config-file` reads (JSON is YAML).
func Files(p *plan.Plan, pk Package) ([]backends.File, error) {
	fns, err := Configs(p, pk)
	if err != nil {
		return nil, err
	}
	var files []backends.File
	for _, f := range fns {
		var b bytes.Buffer
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(false)
		enc.SetIndent("", "  ")
		if err := enc.Encode(f.Config); err != nil {
			return nil, err
		}
		files = append(files, backends.File{Path: f.Config.Name + ".json", Data: b.Bytes()})
	}
	backends.Sort(files)
	return files, nil
}
