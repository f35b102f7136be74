package planner

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/meshc/meshc/planner/plan"
)

func basePlan() *plan.Plan {
	return &plan.Plan{
		APIVersion: plan.APIVersion,
		Mesh:       plan.Mesh{Name: "wc", Tenant: "public", Namespace: "default"},
		Topics:     []plan.Topic{{Name: "in", FQN: "persistent://public/default/in", Schema: plan.Schema{Type: "string"}}},
		Components: []plan.Component{
			{Kind: plan.Function, Name: "split", Replicas: plan.Replicas{Count: 2}, Config: plan.Config{{Key: "a", Value: "x"}}},
			{Kind: plan.Sink, Name: "print", Replicas: plan.Replicas{Count: 1}},
		},
	}
}

func withHashes(p *plan.Plan) *plan.Plan {
	for i := range p.Components {
		p.Components[i].Hash = Hash(p.Components[i])
	}
	return p
}

func TestCompare(t *testing.T) {
	old := withHashes(basePlan())

	rescaled := basePlan()
	rescaled.Components[0].Replicas.Count = 5
	withHashes(rescaled)

	reconfigured := basePlan()
	reconfigured.Components[0].Config = plan.Config{{Key: "a", Value: "y"}}
	reconfigured.Components = reconfigured.Components[:1]
	reconfigured.Components = append(reconfigured.Components, plan.Component{Kind: plan.Function, Name: "upper"})
	reconfigured.Topics[0].Partitions = 4
	withHashes(reconfigured)

	for _, tc := range []struct {
		name string
		new  *plan.Plan
		want []Change
	}{
		{"same", withHashes(basePlan()), nil},
		{"rescale restarts nothing", rescaled, []Change{{What: "function split", Action: "changed",
			Fields: []Field{{Path: "replicas.count", Old: "2", New: "5"}}}}},
		{"config, added, removed, topic", reconfigured, []Change{
			{What: "topic in", Action: "changed", Fields: []Field{{Path: "partitions", Old: "0", New: "4"}}},
			{What: "function split", Action: "changed", Restart: true, Fields: []Field{
				{Path: "config.a", Old: `"x"`, New: `"y"`}}},
			{What: "function upper", Action: "added", Restart: true},
			{What: "sink print", Action: "removed", Restart: true},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Compare(old, tc.new)
			if diff := cmp.Diff(tc.want, got.Changes); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestHashIgnoresReplicas(t *testing.T) {
	a, b := basePlan().Components[0], basePlan().Components[0]
	b.Replicas = plan.Replicas{Min: 1, Max: 9}
	if Hash(a) != Hash(b) {
		t.Error("replica counts must not change the hash")
	}
	b.Config = plan.Config{{Key: "a", Value: "z"}}
	if Hash(a) == Hash(b) {
		t.Error("config must change the hash")
	}
}
