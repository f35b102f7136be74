package nomad

import (
	"bytes"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/nomad/api"
)

func TestWritePlan(t *testing.T) {
	tests := []struct {
		name string
		plan *api.JobPlanResponse
		want string
	}{{
		name: "a new job shows its groups by name",
		plan: &api.JobPlanResponse{Diff: &api.JobDiff{Type: "Added", ID: "wc",
			Fields: []*api.FieldDiff{{Type: "Added", Name: "Type", New: "service"}},
			TaskGroups: []*api.TaskGroupDiff{{Type: "Added", Name: "split", Updates: map[string]uint64{"create": 2},
				Fields: []*api.FieldDiff{{Type: "Added", Name: "Count", New: "2"}}}}}},
		want: "+ Job: \"wc\"\n+ Task Group: \"split\" (2 create)\n",
	}, {
		name: "a change shows its fields, objects and tasks",
		plan: &api.JobPlanResponse{Diff: &api.JobDiff{Type: "Edited", ID: "wc",
			TaskGroups: []*api.TaskGroupDiff{
				{Type: "None", Name: "lines", Updates: map[string]uint64{"in-place update": 1, "ignore": 0}},
				{Type: "Edited", Name: "split", Updates: map[string]uint64{"create": 1, "in-place update": 2},
					Fields: []*api.FieldDiff{{Type: "Edited", Name: "Count", Old: "2", New: "3", Annotations: []string{"forces create"}}},
					Tasks: []*api.TaskDiff{{Type: "Edited", Name: "split", Annotations: []string{"forces create/destroy update"},
						Objects: []*api.ObjectDiff{{Type: "Edited", Name: "Config",
							Fields: []*api.FieldDiff{{Type: "Edited", Name: "command", Old: "a", New: "b"}}}}},
						{Type: "None", Name: "other"}}},
				{Type: "Deleted", Name: "gone", Updates: map[string]uint64{"stop": 1},
					Fields: []*api.FieldDiff{{Type: "Deleted", Name: "Count", Old: "1"}}},
			}}},
		want: `+/- Job: "wc"
Task Group: "lines" (1 in-place update)
+/- Task Group: "split" (1 create, 2 in-place update)
  +/- Count: "2" => "3" (forces create)
  +/- Task: "split" (forces create/destroy update)
    +/- Config {
      +/- command: "a" => "b"
    }
- Task Group: "gone" (1 stop)
`,
	}, {
		name: "no change",
		plan: &api.JobPlanResponse{Diff: &api.JobDiff{Type: "None", ID: "wc"}},
		want: "Job: \"wc\"\n  no changes\n",
	}, {
		name: "placements that would fail, and warnings",
		plan: &api.JobPlanResponse{Diff: &api.JobDiff{Type: "None", ID: "wc"}, Warnings: "1 warning:\n\n* something\n",
			FailedTGAllocs: map[string]*api.AllocationMetric{
				"split": {NodesEvaluated: 1, NodesInPool: 1, DimensionExhausted: map[string]int{"memory": 1}, CoalescedFailures: 2},
				"count": {ConstraintFiltered: map[string]int{"missing drivers": 1}},
			}},
		want: `Job: "wc"
  no changes
Nomad warns: 1 warning:

* something
cannot place count: no nodes are eligible (is a client running in the job's datacenters and node pool?); 1 filtered by missing drivers
cannot place split: 1 of 1 nodes evaluated; 1 exhausted memory; 2 more instances failed alike
`,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			WritePlan(&b, tt.plan)
			if diff := cmp.Diff(tt.want, b.String()); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestAllocProblem(t *testing.T) {
	healthy, unhealthy := true, false
	tests := []struct {
		name  string
		alloc *api.AllocationListStub
		want  string
	}{{
		name: "a healthy instance is no problem",
		alloc: &api.AllocationListStub{Name: "wc.split[0]", ClientStatus: "running",
			DeploymentStatus: &api.AllocDeploymentStatus{Healthy: &healthy},
			TaskStates:       map[string]*api.TaskState{"split": {State: "running", Events: []*api.TaskEvent{{Type: api.TaskStarted}}}}},
	}, {
		name: "a failed instance shows its last notable events",
		alloc: &api.AllocationListStub{ID: "0123456789ab", Name: "wc.split[1]", NodeName: "n1", ClientStatus: "failed",
			DeploymentStatus: &api.AllocDeploymentStatus{Healthy: &unhealthy},
			TaskStates: map[string]*api.TaskState{"split": {State: "dead", Restarts: 3, Events: []*api.TaskEvent{
				{Type: api.TaskReceived}, {Type: api.TaskDriverFailure, DisplayMessage: "no such file"},
				{Type: api.TaskRestarting, DisplayMessage: "in 10s"}, {Type: api.TaskDriverFailure, DisplayMessage: "no such file"},
				{Type: api.TaskRestarting, DisplayMessage: "in 11s"}, {Type: api.TaskNotRestarting, DisplayMessage: "exceeded"},
			}}}},
		want: `
  instance wc.split[1] (allocation 01234567 on n1): failed, unhealthy, 3 restarts
    Restarting: in 10s
    Driver Failure: no such file
    Restarting: in 11s
    Not Restarting: exceeded`,
	}, {
		name: "an instance that ended by itself gets a hint",
		alloc: &api.AllocationListStub{ID: "ab", Name: "wc.lines[0]", NodeName: "n1", ClientStatus: "running",
			TaskStates: map[string]*api.TaskState{"lines": {State: "running", Restarts: 1, Events: []*api.TaskEvent{
				{Type: api.TaskTerminated, DisplayMessage: "Exit Code: 0"},
			}}}},
		want: `
  instance wc.lines[0] (allocation ab on n1): running, 1 restarts
    Terminated: Exit Code: 0
    hint: the instance ended by itself (exit code 0), and Nomad restarts services that end: a binary whose sources exit when done is restarted, so its sources run again: let a finished source idle, as meshrt does`,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, allocProblem(tt.alloc)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestKeepScaledCounts(t *testing.T) {
	scaled := func(name string, count int, lo, hi int64) *api.TaskGroup {
		g := api.NewTaskGroup(name, count)
		g.Scaling = &api.ScalingPolicy{Min: &lo, Max: &hi}
		return g
	}
	old := &api.Job{TaskGroups: []*api.TaskGroup{
		scaled("kept", 4, 1, 6), scaled("clamped", 9, 1, 10), scaled("stopped", 0, 0, 6),
		api.NewTaskGroup("fixed", 5), scaled("unscaled", 3, 1, 6),
	}}
	job := &api.Job{TaskGroups: []*api.TaskGroup{
		scaled("kept", 2, 2, 6), scaled("clamped", 2, 2, 5), scaled("stopped", 2, 2, 6),
		api.NewTaskGroup("fixed", 1), api.NewTaskGroup("unscaled", 1), scaled("new", 2, 2, 6),
	}}
	keepScaledCounts(job, old)
	got := map[string]int{}
	for _, g := range job.TaskGroups {
		got[*g.Name] = *g.Count
	}
	want := map[string]int{"kept": 4, "clamped": 5, "stopped": 2, "fixed": 1, "unscaled": 1, "new": 2}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("counts (-want +got):\n%s", diff)
	}
}

// TestStopRestore: what stopping a function keeps, starting it restores.
func TestStopRestore(t *testing.T) {
	lo, hi := int64(2), int64(6)
	g := api.NewTaskGroup("split", 3)
	g.Scaling = &api.ScalingPolicy{Min: &lo, Max: &hi}
	g.Meta = map[string]string{MetaHash: "h", MetaStoppedCount: "3", MetaStoppedMin: "2"}
	g.Count, g.Scaling.Min = ptr(0), ptr[int64](0)
	if !restore(g) {
		t.Fatal("restore found nothing to restore")
	}
	if *g.Count != 3 || *g.Scaling.Min != 2 || len(g.Meta) != 1 {
		t.Errorf("restored count %d, min %d, meta %v", *g.Count, *g.Scaling.Min, g.Meta)
	}
	if restore(g) {
		t.Error("restore of a running group did something")
	}
}
