package kubernetes

import (
	"path"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// TestKustomizeOverlay builds an overlay with kustomize itself, a name
// prefix, a name suffix and a namespace over each mesh's manifests, both
// flavours, and checks that every reference still names an object of the
// result: the FunctionMesh's members included, which kustomize knows only
// through the configuration meshc writes.
func TestKustomizeOverlay(t *testing.T) {
	c := newChecker(t)
	for _, file := range meshFiles(t) {
		for _, flavour := range []string{Plain, FunctionMesh} {
			t.Run(meshName(file)+"/"+flavour, func(t *testing.T) {
				fs := filesys.MakeFsInMemory()
				for _, f := range emitFile(t, file, flavour) {
					if err := fs.WriteFile(path.Join("/base", f.Path), f.Data); err != nil {
						t.Fatal(err)
					}
				}
				overlay := "resources: [../base]\nnamePrefix: prod-\nnameSuffix: -eu\nnamespace: shop\n"
				if err := fs.WriteFile("/overlay/kustomization.yaml", []byte(overlay)); err != nil {
					t.Fatal(err)
				}
				res, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(fs, "/overlay")
				if err != nil {
					t.Fatalf("kustomize build: %v", err)
				}
				var objs []runtime.Object
				for _, r := range res.Resources() {
					if !strings.HasPrefix(r.GetName(), "prod-") || r.GetNamespace() != "shop" {
						t.Errorf("%s %s in %q: not renamed into the overlay", r.GetKind(), r.GetName(), r.GetNamespace())
					}
					data, err := r.AsYAML()
					if err != nil {
						t.Fatal(err)
					}
					obj, err := c.check(data)
					if err != nil {
						t.Fatalf("%s %s: %v", r.GetKind(), r.GetName(), err)
					}
					objs = append(objs, obj)
				}
				for _, problem := range consistency(objs) {
					t.Error(problem)
				}
			})
		}
	}
}
