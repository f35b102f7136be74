package backends

import "github.com/meshc/meshc/planner/plan"

// PulsarURL is the service URL instances of p connect to: flag when the
// deployment gives one, else the mesh's pulsar block's, else the backend's
// default.
func PulsarURL(p *plan.Plan, flag, backendDefault string) string {
	switch {
	case flag != "":
		return flag
	case p.Mesh.Pulsar != nil && p.Mesh.Pulsar.URL != "":
		return p.Mesh.Pulsar.URL
	}
	return backendDefault
}
