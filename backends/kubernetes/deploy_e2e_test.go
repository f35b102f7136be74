//go:build e2e

package kubernetes

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestAPIServerDeployLifecycle drives deploy's steps against a real API
// server without a node: what a dry run shows, server-side apply as meshc,
// pruning what a plan no longer holds, stop, start and restart as the
// workloads' fields, delete, and a rollout that cannot finish failing
// with the timeout's message.
func TestAPIServerDeployLifecycle(t *testing.T) {
	k := startAPIServer(t)
	k.apply(t, []byte(fmt.Sprintf("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: %s\n", e2eNamespace)), false)
	cl, err := NewCluster(k.cfg, e2eNamespace)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	files := emitFile(t, "../../examples/wordcount.mesh", Plain)
	objs, err := objects(files)
	if err != nil {
		t.Fatal(err)
	}

	var out bytes.Buffer
	if err := cl.dryRun(ctx, &out, "wordcount", objs); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "create Deployment wordcount-split") || strings.Contains(out.String(), "change ") {
		t.Errorf("dry run of a new mesh:\n%s", out.String())
	}
	if err := cl.applyAll(ctx, &out, objs, false); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if err := cl.dryRun(ctx, &out, "wordcount", objs); err != nil || out.String() != "no changes\n" {
		t.Errorf("dry run of the applied mesh: %v\n%s", err, out.String())
	}

	// Without split, its objects are pruned; the rest stays.
	var kept = objs[:0:0]
	for _, u := range objs {
		if u.GetLabels()[nameLabel] != "split" {
			kept = append(kept, u)
		}
	}
	out.Reset()
	if err := cl.prune(ctx, &out, "wordcount", kept); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "pruned Deployment wordcount-split") || strings.Contains(out.String(), "wordcount-count") {
		t.Errorf("prune:\n%s", out.String())
	}

	// stop keeps the count; start brings it back; deploy takes the field back.
	if err := cl.Stop(ctx, "wordcount", "count"); err != nil {
		t.Fatal(err)
	}
	if n := replicasOf(t, cl, "StatefulSet", "wordcount-count"); n != 0 {
		t.Errorf("count after stop: %d replicas", n)
	}
	out.Reset()
	if err := cl.Status(ctx, &out, "wordcount", "count"); err != nil || !strings.Contains(out.String(), "yes (2)") {
		t.Errorf("status after stop: %v\n%s", err, out.String())
	}
	if err := cl.Start(ctx, "wordcount", "count"); err != nil {
		t.Fatal(err)
	}
	if n := replicasOf(t, cl, "StatefulSet", "wordcount-count"); n != 2 {
		t.Errorf("count after start: %d replicas", n)
	}
	if err := cl.Restart(ctx, "wordcount", ""); err != nil {
		t.Fatal(err)
	}
	if err := cl.Stop(ctx, "wordcount", "count"); err != nil {
		t.Fatal(err)
	}
	if err := cl.applyAll(ctx, &out, kept, false); err != nil {
		t.Errorf("deploying over a stopped function: %v", err)
	}

	// Nothing runs pods here: the rollout wait ends with the timeout.
	short, cancelShort := context.WithTimeout(ctx, 3*time.Second)
	defer cancelShort()
	err = cl.awaitRollout(short, &out, "wordcount", kept)
	if err == nil || !strings.Contains(err.Error(), "did not roll out in time") {
		t.Errorf("rollout without a node: %v", err)
	}

	if err := cl.Delete(ctx, "wordcount"); err != nil {
		t.Fatal(err)
	}
	if left, err := cl.owned(ctx, "wordcount", e2eNamespace); err != nil || len(left) > 0 {
		t.Errorf("after delete: %d objects left, %v", len(left), err)
	}
}

func replicasOf(t *testing.T, cl *Cluster, kind, name string) int64 {
	t.Helper()
	r, _, err := cl.resource("apps/v1", kind, "")
	if err != nil {
		t.Fatal(err)
	}
	u, err := r.Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return statusOf(u).wanted
}
