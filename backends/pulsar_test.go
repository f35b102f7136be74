package backends

import (
	"testing"

	"github.com/meshc/meshc/planner/plan"
)

func TestPulsarURL(t *testing.T) {
	bare := &plan.Plan{}
	withURL := &plan.Plan{Mesh: plan.Mesh{Pulsar: &plan.Pulsar{URL: "pulsar+ssl://mesh:6651"}}}
	noURL := &plan.Plan{Mesh: plan.Mesh{Pulsar: &plan.Pulsar{AdminURL: "https://mesh:8443"}}}
	for _, tc := range []struct {
		name string
		p    *plan.Plan
		flag string
		want string
	}{
		{"the backend's default", bare, "", "pulsar://default:6650"},
		{"the mesh's", withURL, "", "pulsar+ssl://mesh:6651"},
		{"a block without url", noURL, "", "pulsar://default:6650"},
		{"the flag over the mesh's", withURL, "pulsar://flag:6650", "pulsar://flag:6650"},
	} {
		if got := PulsarURL(tc.p, tc.flag, "pulsar://default:6650"); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}
