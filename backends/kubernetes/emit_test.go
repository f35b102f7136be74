package kubernetes

import (
	"cmp"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	gocmp "github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/validation"
	sigsyaml "sigs.k8s.io/yaml"

	"github.com/meshc/meshc/backends"
	"github.com/meshc/meshc/internal/meshgen"
	"github.com/meshc/meshc/internal/plantest"
	"github.com/meshc/meshc/planner/plan"
)

// TestGolden emits every mesh in both flavours and compares with
// testdata/golden/MESH/FLAVOUR.
func TestGolden(t *testing.T) {
	for _, file := range meshFiles(t) {
		for _, flavour := range []string{Plain, FunctionMesh} {
			t.Run(meshName(file)+"/"+flavour, func(t *testing.T) {
				checkGolden(t, path.Join("testdata/golden", meshName(file), flavour), emitFile(t, file, flavour))
			})
		}
	}
}

// TestDeterministic emits each mesh twice: the bytes must not change.
func TestDeterministic(t *testing.T) {
	for _, file := range meshFiles(t) {
		for _, flavour := range []string{Plain, FunctionMesh} {
			a, b := emitFile(t, file, flavour), emitFile(t, file, flavour)
			for i := range a {
				if string(a[i].Data) != string(b[i].Data) {
					t.Errorf("%s %s: %s differs between two runs", file, flavour, a[i].Path)
				}
			}
		}
	}
}

// TestEmitErrors: plans the backend cannot express are refused with a
// message that names the component and what to do.
func TestEmitErrors(t *testing.T) {
	tests := []struct {
		name    string
		flavour string
		edit    func(p *plan.Plan)
		want    string
	}{
		{"secret path not a Secret name", Plain, func(p *plan.Plan) {
			p.Components[1].Secrets = map[string]plan.Secret{"token": {Path: "Vault/orders", Key: "token"}}
		}, `secret token: "Vault/orders" names the Kubernetes Secret "Vault.orders", which is invalid`},
		{"secret key invalid", Plain, func(p *plan.Plan) {
			p.Components[1].Secrets = map[string]plan.Secret{"token": {Path: "orders", Key: "a key"}}
		}, `"a key" is not a valid key of a Kubernetes Secret`},
		{"autoscaling from zero", Plain, func(p *plan.Plan) {
			p.Components[1].Replicas = plan.Replicas{Min: 0, Max: 3}
		}, "min_replicas 0: the HorizontalPodAutoscaler scales down to 1 at least"},
		{"operator and zero replicas", FunctionMesh, func(p *plan.Plan) {
			p.Components[1].Replicas = plan.Replicas{Count: 0}
		}, "the Function Mesh operator runs 1 instance at least"},
		{"operator and two patterns", FunctionMesh, func(p *plan.Plan) {
			c := &p.Components[1]
			c.Inputs = append(c.Inputs, plan.Input{Topic: "a.*", Pattern: true}, plan.Input{Topic: "b.*", Pattern: true})
		}, "one topic pattern per function"},
		{"operator name too long", FunctionMesh, func(p *plan.Plan) {
			p.Components[1].Name = strings.Repeat("x", 40)
		}, "at most 43"},
		{"names that collide", Plain, func(p *plan.Plan) {
			p.Components[1].Name, p.Components[2].Name = "a_b", "a-b"
		}, `a_b and a-b both become the Kubernetes name "wordcount-a-b"`},
		{"name that cannot start a Service name", Plain, func(p *plan.Plan) {
			p.Mesh.Name = "_1mesh"
		}, "rename it to start with a letter"},
		{"unknown flavour", "helm", func(p *plan.Plan) {}, `unknown flavour "helm"`},
		{"unreadable pulsar URL", FunctionMesh, func(p *plan.Plan) {}, "--pulsar-url"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := loadPlan(t, "../../examples/wordcount.mesh", Plain)
			tt.edit(p)
			o := Options{Flavour: tt.flavour}
			if tt.name == "unreadable pulsar URL" {
				o.PulsarURL = "::"
			}
			_, err := emitWhole(p, o)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Emit error = %v, want it to say %q", err, tt.want)
			}
		})
	}
}

func TestDNSName(t *testing.T) {
	tests := []struct{ in, want string }{
		{"wordcount", "wordcount"},
		{"Order_Pipeline", "order-pipeline"},
		{"_x_", "x"},
	}
	for _, tt := range tests {
		if got := dnsName(tt.in); got != tt.want {
			t.Errorf("dnsName(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	long := dnsName(strings.Repeat("a", 60))
	if len(long) != maxName || !strings.HasPrefix(long, strings.Repeat("a", 43)+"-") || long == dnsName(strings.Repeat("a", 61)) {
		t.Errorf("dnsName(60 a) = %q, want 43 a, a hyphen and a hash of the whole name", long)
	}
}

// TestCheckName: a name is refused exactly when the library's DNS-1035
// check refuses it, whether or not it is one dnsName makes.
func TestCheckName(t *testing.T) {
	for _, name := range []string{"wordcount", "a", "a-1", "1a", "-a", "a-", "A", "a_b", "", "a.b",
		strings.Repeat("a", 63), strings.Repeat("a", 64), dnsName("9lives"), dnsName(strings.Repeat("b", 80))} {
		refused := len(validation.IsDNS1035Label(name)) > 0
		if err := checkName("function", "f", name); (err != nil) != refused {
			t.Errorf("checkName(%q) = %v, want refused %v", name, err, refused)
		}
	}
}

// TestImage: --image wins over the plan's image, which wins over the
// default; --binary names the program the container runs.
func TestImage(t *testing.T) {
	p := loadPlan(t, "../../examples/wordcount.mesh", Plain)
	for _, tt := range []struct{ option, inPlan, want string }{
		{"", "", DefaultImage},
		{"", "registry.example/meshrt:1.2", "registry.example/meshrt:1.2"},
		{"registry.example/custom:3", "registry.example/meshrt:1.2", "registry.example/custom:3"},
	} {
		for i := range p.Components {
			p.Components[i].Runtime.Image = tt.inPlan
		}
		for _, flavour := range []string{Plain, FunctionMesh} {
			files, err := emitWhole(p, Options{Flavour: flavour, Image: tt.option, Binary: "shoprt"})
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range files {
				if data := string(f.Data); strings.Contains(data, `- "meshrt"`) || strings.Contains(data, `go: "meshrt"`) {
					t.Errorf("%s %s: runs meshrt, not --binary shoprt", flavour, f.Path)
				}
				if strings.Contains(string(f.Data), "image: ") && !strings.Contains(string(f.Data), `image: "`+tt.want+`"`) {
					t.Errorf("%s %s: want image %s in\n%s", flavour, f.Path, tt.want, f.Data)
				}
			}
		}
	}
}

// emitAll emits every mesh in both flavours with o, as objects.
func emitAll(t *testing.T, o Options) map[string][]*unstructured.Unstructured {
	t.Helper()
	out := map[string][]*unstructured.Unstructured{}
	for _, file := range meshFiles(t) {
		for _, flavour := range []string{Plain, FunctionMesh} {
			o.Flavour = flavour
			files, err := emitWhole(loadPlan(t, file, flavour), o)
			if err != nil {
				t.Fatalf("%s %s: %v", file, flavour, err)
			}
			out[meshName(file)+"/"+flavour] = decodeAll(t, files)
		}
	}
	return out
}

// decodeAll reads the objects of files, in their order.
func decodeAll(t *testing.T, files []backends.File) []*unstructured.Unstructured {
	t.Helper()
	var objs []*unstructured.Unstructured
	for _, d := range documents(t, files) {
		u := &unstructured.Unstructured{}
		if err := sigsyaml.Unmarshal(d.data, &u.Object); err != nil {
			t.Fatalf("%s: %v", d.file, err)
		}
		objs = append(objs, u)
	}
	return objs
}

// podLabels are the labels of each pod template in u: a workload's, or
// each member's of a FunctionMesh.
func podLabels(t *testing.T, u *unstructured.Unstructured) []map[string]string {
	t.Helper()
	if l, ok, _ := unstructured.NestedStringMap(u.Object, "spec", "template", "metadata", "labels"); ok {
		return []map[string]string{l}
	}
	members, _, _ := unstructured.NestedSlice(u.Object, "spec", "functions")
	var out []map[string]string
	for _, m := range members {
		l, _, err := unstructured.NestedStringMap(m.(map[string]any), "pod", "labels")
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, l)
	}
	return out
}

// TestNamespace: with a namespace, every namespaced object of every kind
// names it and the Namespace object, when asked for, comes first; without
// one, no object names any.
func TestNamespace(t *testing.T) {
	namespaced := map[string]bool{
		"ServiceAccount": true, "ConfigMap": true, "Deployment": true, "StatefulSet": true, "Service": true,
		"HorizontalPodAutoscaler": true, "PodDisruptionBudget": true, "FunctionMesh": true,
		"Namespace": false,
	}
	tests := []struct {
		name      string
		namespace string
		create    bool
	}{
		{"none", "", false},
		{"named", "shop", false},
		{"created", "shop", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			seen := map[string]bool{}
			for mesh, objs := range emitAll(t, Options{Namespace: tt.namespace, CreateNamespace: tt.create}) {
				for i, u := range objs {
					kind := u.GetKind()
					seen[kind] = true
					want, ok := namespaced[kind]
					switch {
					case !ok:
						t.Errorf("%s: %s is not in the test's table: is it namespaced?", mesh, kind)
					case want && u.GetNamespace() != tt.namespace:
						t.Errorf("%s: %s %s has namespace %q, want %q", mesh, kind, u.GetName(), u.GetNamespace(), tt.namespace)
					case !want && (u.GetNamespace() != "" || u.GetName() != tt.namespace || i != 0):
						t.Errorf("%s: Namespace object %d is %q in %q, want the first, %q in none", mesh, i, u.GetName(), u.GetNamespace(), tt.namespace)
					}
				}
			}
			for kind, want := range namespaced {
				if want && !seen[kind] {
					t.Errorf("no mesh emits a %s: the test does not cover it", kind)
				}
			}
			if seen["Namespace"] != tt.create {
				t.Errorf("a Namespace object emitted: %v, want %v", seen["Namespace"], tt.create)
			}
		})
	}
}

// TestNamespaceObject: the Namespace comes first among the files and in
// the kustomization, and carries no part-of label, so that removing a
// mesh by its labels leaves the namespace, which may hold others.
func TestNamespaceObject(t *testing.T) {
	for _, flavour := range []string{Plain, FunctionMesh} {
		files, err := emitWhole(loadPlan(t, "../../examples/wordcount.mesh", flavour),
			Options{Flavour: flavour, Namespace: "shop", CreateNamespace: true, Version: testVersion})
		if err != nil {
			t.Fatal(err)
		}
		if files[0].Path != NamespaceFile {
			t.Errorf("%s: the first file is %s, want %s", flavour, files[0].Path, NamespaceFile)
		}
		checkKustomization(t, files)
		want := `apiVersion: "v1"
kind: "Namespace"
metadata:
  name: "shop"
  labels:
    app.kubernetes.io/managed-by: "meshc"
    app.kubernetes.io/version: "v0.0.0-test"
`
		if got := string(files[0].Data); got != want {
			t.Errorf("%s: %s is\n%s\nwant\n%s", flavour, NamespaceFile, got, want)
		}
	}
}

// TestOptionErrors: options the API server would refuse are refused
// before anything is written.
func TestOptionErrors(t *testing.T) {
	tests := []struct {
		name string
		o    Options
		want string
	}{
		{"namespace to create unnamed", Options{CreateNamespace: true}, "needs a namespace"},
		{"namespace not a DNS label", Options{Namespace: "Shop_1"}, `--namespace "Shop_1" is not a Kubernetes namespace name`},
		{"version not a label value", Options{Version: "v1.0.0+dirty"}, `version "v1.0.0+dirty" cannot be the label app.kubernetes.io/version`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := emitWhole(loadPlan(t, "../../examples/wordcount.mesh", Plain), tt.o)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Emit error = %v, want it to say %q", err, tt.want)
			}
		})
	}
}

// TestVersionLabel: every object and every pod template carries the
// version; without one, nothing does.
func TestVersionLabel(t *testing.T) {
	for _, version := range []string{"v1.2.3", ""} {
		for mesh, objs := range emitAll(t, Options{Version: version, Namespace: "shop", CreateNamespace: true}) {
			for _, u := range objs {
				all := append([]map[string]string{u.GetLabels()}, podLabels(t, u)...)
				for _, l := range all {
					if got, ok := l[VersionLabel]; got != version || ok != (version != "") {
						t.Errorf("version %q, %s: %s %s has labels %v", version, mesh, u.GetKind(), u.GetName(), l)
					}
				}
			}
		}
	}
}

var planMapName = regexp.MustCompile(`^wordcount-split-plan-[0-9a-f]{10}$`)

// TestPlanConfigMap: the plan's ConfigMap is immutable, named after its
// content, marked as a plan of its component, and the one each pod
// template names; its name changes exactly when the plan does.
func TestPlanConfigMap(t *testing.T) {
	tests := []struct {
		name    string
		edit    func(p *plan.Plan, o *Options)
		changes bool
	}{
		{"the same plan", func(*plan.Plan, *Options) {}, false},
		{"one config value", func(p *plan.Plan, _ *Options) { split(p).Config = plan.Config{{Key: "lower", Value: true}} }, true},
		{"the subscription", func(p *plan.Plan, _ *Options) { split(p).Subscription.Position = "earliest" }, true},
		// Instances do not read the count: a rescale rolls no pod.
		{"replicas", func(p *plan.Plan, _ *Options) { split(p).Replicas.Count = 7 }, false},
		{"autoscaler bounds", func(p *plan.Plan, _ *Options) { split(p).Replicas = plan.Replicas{Min: 1, Max: 5} }, false},
		// Labels of an immutable ConfigMap may change; its data may not.
		{"meshc version", func(_ *plan.Plan, o *Options) { o.Version = "v9.9.9" }, false},
		{"namespace", func(_ *plan.Plan, o *Options) { o.Namespace = "shop" }, false},
	}
	for _, flavour := range []string{Plain, FunctionMesh} {
		base := planMap(t, loadPlan(t, "../../examples/wordcount.mesh", flavour), Options{Flavour: flavour})
		for _, tt := range tests {
			t.Run(flavour+"/"+tt.name, func(t *testing.T) {
				p, o := loadPlan(t, "../../examples/wordcount.mesh", flavour), Options{Flavour: flavour}
				tt.edit(p, &o)
				if got := planMap(t, p, o); (got != base) != tt.changes {
					t.Errorf("ConfigMap %s, before %s: want a new name %v", got, base, tt.changes)
				}
			})
		}
	}
}

func split(p *plan.Plan) *plan.Component {
	for i := range p.Components {
		if p.Components[i].Name == "split" {
			return &p.Components[i]
		}
	}
	panic("wordcount has no split")
}

// planMap emits p and returns the name of the plan ConfigMap of split,
// checking that it is immutable, labelled as a plan, and the one split's
// pods read.
func planMap(t *testing.T, p *plan.Plan, o Options) string {
	t.Helper()
	files, err := emitWhole(p, o)
	if err != nil {
		t.Fatal(err)
	}
	var name string
	var refs []string
	for _, u := range decodeAll(t, files) {
		if u.GetKind() == "ConfigMap" && u.GetLabels()[PlanOfLabel] == "split" {
			if name != "" || !planMapName.MatchString(u.GetName()) {
				t.Fatalf("plan ConfigMaps %s and %s, want one named %s", name, u.GetName(), planMapName)
			}
			name = u.GetName()
			if immutable, _, _ := unstructured.NestedBool(u.Object, "immutable"); !immutable {
				t.Errorf("ConfigMap %s is not immutable", name)
			}
		}
		refs = append(refs, planRefs(u)...)
	}
	if len(refs) == 0 || slices.ContainsFunc(refs, func(r string) bool { return r != name }) {
		t.Errorf("split's pods read the ConfigMaps %v, want %s", refs, name)
	}
	return name
}

// planRefs are the plan ConfigMaps split's pods in u read: a workload's
// volume, or a FunctionMesh member's.
func planRefs(u *unstructured.Unstructured) []string {
	var refs []string
	if u.GetName() == "wordcount-split" {
		vols, _, _ := unstructured.NestedSlice(u.Object, "spec", "template", "spec", "volumes")
		for _, v := range vols {
			if name, ok, _ := unstructured.NestedString(v.(map[string]any), "configMap", "name"); ok {
				refs = append(refs, name)
			}
		}
	}
	members, _, _ := unstructured.NestedSlice(u.Object, "spec", "functions")
	for _, m := range members {
		if m.(map[string]any)["name"] != "split" {
			continue
		}
		vols, _, _ := unstructured.NestedSlice(m.(map[string]any), "pod", "volumes")
		for _, v := range vols {
			if name, ok, _ := unstructured.NestedString(v.(map[string]any), "configMap", "name"); ok {
				refs = append(refs, name)
			}
		}
	}
	return refs
}

// TestTagImages: images named by a digest are pinned; tags, the default
// image among them, are reported once each.
func TestTagImages(t *testing.T) {
	const digest = "registry.example/meshrt@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	p := loadPlan(t, "../../examples/wordcount.mesh", Plain)
	tests := []struct {
		image string
		want  []string
	}{
		{"", []string{DefaultImage}},
		{"registry.example/meshrt:1.2", []string{"registry.example/meshrt:1.2"}},
		{digest, nil},
		{"registry.example/meshrt:1.2@" + strings.TrimPrefix(digest, "registry.example/meshrt@"), nil},
		{"registry.example/meshrt@sha256:0123", []string{"registry.example/meshrt@sha256:0123"}},
	}
	for _, tt := range tests {
		if got := TagImages(p, Options{Image: tt.image}); !slices.Equal(got, tt.want) {
			t.Errorf("TagImages with image %q = %v, want %v", tt.image, got, tt.want)
		}
		files, err := emitWhole(p, Options{Image: tt.image})
		if err != nil {
			t.Fatal(err)
		}
		if want := cmp.Or(tt.image, DefaultImage); !strings.Contains(string(findFile(t, files, "function-split.yaml")), `image: "`+want+`"`) {
			t.Errorf("the Deployment does not keep the image %s as given", want)
		}
	}
}

func findFile(t *testing.T, files []backends.File, name string) []byte {
	t.Helper()
	for _, f := range files {
		if f.Path == name {
			return f.Data
		}
	}
	t.Fatalf("no file %s", name)
	return nil
}

// TestFilesMadeAsWritten: files made as they are written give the same
// bytes in any order, written again or not.
func TestFilesMadeAsWritten(t *testing.T) {
	p := plantest.Generated(t, meshgen.Mixed, 60)
	for _, flavour := range []string{Plain, FunctionMesh} {
		files, err := Emit(p, Options{Flavour: flavour, Image: "meshc/meshrt:1"})
		if err != nil {
			t.Fatal(err)
		}
		texts := func(order []int) map[string]string {
			got := map[string]string{}
			for _, i := range order {
				data, err := files[i].Bytes()
				if err != nil {
					t.Fatal(err)
				}
				got[files[i].Path] = string(data)
			}
			return got
		}
		forward := make([]int, len(files))
		for i := range forward {
			forward[i] = i
		}
		want := texts(forward)
		backward := slices.Clone(forward)
		slices.Reverse(backward)
		for _, order := range [][]int{backward, forward} {
			for path, text := range texts(order) {
				if text != want[path] {
					t.Errorf("%s: %s written again, in another order, differs:\n%s\nwant\n%s", flavour, path, text, want[path])
				}
			}
		}
	}
}

// TestFunctionMeshInParts: a FunctionMesh written a few members at a time
// is the one written whole, though each place of a part is reused by the
// member that takes it next: on a large generated mesh, and on every
// example mesh (members with and without secrets, autoscaling, patterns).
func TestFunctionMeshInParts(t *testing.T) {
	plans := map[string]*plan.Plan{"generated": plantest.Generated(t, meshgen.Mixed, 150)}
	for _, file := range meshFiles(t) {
		plans[filepath.Base(file)] = loadPlan(t, file, FunctionMesh)
	}
	defer func(n int) { membersAtOnce = n }(membersAtOnce)
	for name, p := range plans {
		text := func(atOnce int) string {
			membersAtOnce = atOnce
			files, err := emitWhole(p, Options{Flavour: FunctionMesh, Image: "meshc/meshrt:1"})
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			for _, f := range files {
				if f.Path == functionMeshFile {
					return string(f.Data)
				}
			}
			t.Fatalf("%s: no %s", name, functionMeshFile)
			return ""
		}
		whole := text(1000)
		for _, n := range []int{1, 2, 7, 64} {
			if got := text(n); got != whole {
				t.Errorf("%s: written %d members at a time, it differs from the whole:\n%s", name, n, gocmp.Diff(whole, got))
			}
		}
	}
}
