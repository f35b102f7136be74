package main

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/meshc/meshc/backends/local"
	"github.com/meshc/meshc/planner/plan"
)

func TestProgressRendering(t *testing.T) {
	p := &plan.Plan{Mesh: plan.Mesh{Name: "m"}, Components: []plan.Component{
		{Kind: plan.Source, Name: "gen", Output: &plan.Output{Topic: "a"}, Replicas: plan.Replicas{Count: 1}},
		{Kind: plan.Function, Name: "up", Inputs: []plan.Input{{Topic: "a"}}, Output: &plan.Output{Topic: "b"}, Replicas: plan.Replicas{Count: 2}},
		{Kind: plan.Sink, Name: "print", Inputs: []plan.Input{{Topic: "b"}}, Replicas: plan.Replicas{Count: 1}},
	}}
	m, err := local.New(p, local.Options{LogDir: t.TempDir(), Command: func(*plan.Component) ([]string, error) { return []string{"true"}, nil }})
	if err != nil {
		t.Fatal(err)
	}
	stats := map[string]local.Counters{
		"gen":   {Processed: 100},
		"up":    {Processed: 90, UserErrors: 2, SystemErrors: 1, InstancesUp: 1, InstancesWanted: 2},
		"print": {Processed: 80, InstancesUp: 1, InstancesWanted: 1},
	}
	rates := map[string]float64{"up": 12.4, "print": 10}
	wantTable := `   NAME      KIND    UP  MSG/S  PROCESSED  ERRORS  RESTARTS
    gen    source  done      0        100       0         0
     up  function   1/2     12         90       3         1
  print      sink   1/1     10         80       0         0
`
	if diff := cmp.Diff(wantTable, renderTable(m, stats, rates, map[string]int{"up": 1})); diff != "" {
		t.Errorf("table (-want +got):\n%s", diff)
	}
	wantLine := "progress: gen done, 100 processed, 0 msg/s, 0 errors; up 1/2 up, 90 processed, 12 msg/s, 3 errors; print 1/1 up, 80 processed, 10 msg/s, 0 errors"
	if diff := cmp.Diff(wantLine, renderLine(m, stats, rates)); diff != "" {
		t.Errorf("line (-want +got):\n%s", diff)
	}
}
