package kubernetes

import (
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// dryRun shows what applying objs would change: each object the server
// would create, or the fields it would change, from a server-side dry run
// against what is there, and what prune would delete.
func (cl *Cluster) dryRun(ctx context.Context, w io.Writer, mesh string, objs []*unstructured.Unstructured) error {
	changes := 0
	for _, u := range objs {
		r, _, err := cl.resource(u.GetAPIVersion(), u.GetKind(), u.GetNamespace())
		if err != nil {
			return err
		}
		live, err := r.Get(ctx, u.GetName(), metav1.GetOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("reading %s %s: %w", u.GetKind(), u.GetName(), err)
		}
		exists := err == nil
		after, err := cl.apply(ctx, u, false, true)
		if err != nil {
			return err
		}
		if !exists {
			fmt.Fprintf(w, "create %s %s\n", u.GetKind(), u.GetName())
			changes++
			continue
		}
		if lines := fieldChanges(comparable(live.Object), comparable(after.Object)); len(lines) > 0 {
			fmt.Fprintf(w, "change %s %s\n", u.GetKind(), u.GetName())
			for _, l := range lines {
				fmt.Fprintf(w, "    %s\n", l)
			}
			changes++
		}
	}
	stale, err := cl.stale(ctx, mesh, objs)
	if err != nil {
		return err
	}
	for _, u := range stale {
		fmt.Fprintf(w, "delete %s %s\n", u.GetKind(), u.GetName())
		changes++
	}
	if changes == 0 {
		fmt.Fprintln(w, "no changes")
	}
	return nil
}

// comparable is an object without what the server keeps for itself.
func comparable(obj map[string]any) map[string]any {
	out := maps.Clone(obj)
	delete(out, "status")
	if md, ok := out["metadata"].(map[string]any); ok {
		md = maps.Clone(md)
		for _, k := range []string{"managedFields", "resourceVersion", "generation", "uid", "creationTimestamp"} {
			delete(md, k)
		}
		out["metadata"] = md
	}
	return out
}

// fieldChanges lists the leaves that differ between two decoded objects,
// as "path: old -> new", sorted.
func fieldChanges(a, b any) []string {
	var out []string
	diffValues("", a, b, &out)
	slices.Sort(out)
	return out
}

func diffValues(path string, a, b any, out *[]string) {
	am, aok := a.(map[string]any)
	bm, bok := b.(map[string]any)
	if aok && bok {
		for _, k := range slices.Sorted(maps.Keys(union(am, bm))) {
			diffValues(join(path, k), am[k], bm[k], out)
		}
		return
	}
	as, aok := a.([]any)
	bs, bok := b.([]any)
	if aok && bok && len(as) == len(bs) {
		for i := range as {
			diffValues(fmt.Sprintf("%s[%d]", path, i), as[i], bs[i], out)
		}
		return
	}
	if fmt.Sprint(a) != fmt.Sprint(b) {
		*out = append(*out, fmt.Sprintf("%s: %s -> %s", path, show(a), show(b)))
	}
}

func union(a, b map[string]any) map[string]any {
	out := maps.Clone(a)
	maps.Copy(out, b)
	return out
}

func join(path, k string) string {
	if path == "" {
		return k
	}
	if strings.ContainsAny(k, "./") {
		return path + "[" + k + "]"
	}
	return path + "." + k
}

func show(v any) string {
	if v == nil {
		return "-"
	}
	if s, ok := v.(string); ok {
		return fmt.Sprintf("%q", s)
	}
	return fmt.Sprint(v)
}
