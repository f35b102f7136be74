//go:build e2e

package kubernetes

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	sigsyaml "sigs.k8s.io/yaml"

	"github.com/meshc/meshc/backends"
)

// TestAPIServerOperatorAccepts runs the real Function Mesh operator's
// admission webhooks on every member of every mesh meshc emits, as the
// Function the operator's FunctionMesh controller would create of it: the
// validating webhook must accept it, and neither the mutating webhook nor
// the CRD's defaults may change the spec meshc wrote, so that what runs
// is what meshc shows.
func TestAPIServerOperatorAccepts(t *testing.T) {
	k := startAPIServer(t)
	startOperator(t, k)
	checkSeesChanges(t, k)
	n := 0
	for _, file := range meshFiles(t) {
		for _, child := range operatorChildren(t, emitFile(t, file, FunctionMesh)) {
			t.Run(meshName(file)+"/"+child.GetName(), func(t *testing.T) {
				checkAdmission(t, k, child)
			})
			n++
		}
	}
	t.Logf("the operator's webhooks saw %d Functions made from meshc's FunctionMesh members", n)
}

// checkAdmission fails on any change admission makes to child's spec.
func checkAdmission(t *testing.T, k *kube, child *unstructured.Unstructured) {
	t.Helper()
	if changes := admissionChanges(t, k, child); len(changes) > 0 {
		t.Errorf("admission changes %d fields of the spec meshc wrote; the emitter should write them itself:\n  %s",
			len(changes), strings.Join(changes, "\n  "))
	}
}

// checkSeesChanges shows the comparison is not blind: the probe Function
// leaves out what the mutating webhook and the CRD's schema default.
func checkSeesChanges(t *testing.T, k *kube) {
	t.Helper()
	changes := admissionChanges(t, k, probeFunction())
	text := strings.Join(changes, "\n  ")
	for _, want := range []string{"spec.clusterName: added \"kubernetes\" (mutating webhook)", "spec.minReplicas: added 1 (CRD schema default)"} {
		if !strings.Contains(text, want) {
			t.Fatalf("the comparison misses %q in the probe Function's changes:\n  %s", want, text)
		}
	}
	t.Logf("admission changes the probe Function, which leaves the defaults out:\n  %s", text)
}

// admissionChanges dry-runs child twice, with and without the mutating
// webhook, and lists the fields of its spec admission adds or changes,
// telling the webhook's changes from the CRD schema's defaults.
func admissionChanges(t *testing.T, k *kube, child *unstructured.Unstructured) []string {
	t.Helper()
	got, err := k.dryRunApply(child)
	if err != nil {
		t.Fatalf("the operator refuses %s %s: %v", child.GetKind(), child.GetName(), err)
	}
	base, err := k.dryRunApply(withLabel(child, skipDefaultingLabel))
	if err != nil {
		t.Logf("without the mutating webhook it is refused (%v), so its changes are not told apart from the CRD's defaults", err)
		return specChanges(child, got, "admission")
	}
	return append(specChanges(child, base, "CRD schema default"), specChanges(base, got, "mutating webhook")...)
}

// operatorChildren are the Functions, Sources and Sinks the operator's
// FunctionMesh controller makes of each FunctionMesh in files: named
// MESH-MEMBER, the member as their spec (its controllers/function_mesh.go
// and spec.MakeFunctionComponent). The controller also sets an owner
// reference to the mesh, which no webhook reads.
func operatorChildren(t *testing.T, files []backends.File) []*unstructured.Unstructured {
	t.Helper()
	var out []*unstructured.Unstructured
	for _, d := range documents(t, files) {
		mesh := decodeObject(t, d.data)
		if mesh.GetKind() != "FunctionMesh" {
			continue
		}
		for _, l := range []struct{ field, kind string }{{"functions", "Function"}, {"sources", "Source"}, {"sinks", "Sink"}} {
			members, _, err := unstructured.NestedSlice(mesh.Object, "spec", l.field)
			if err != nil {
				t.Fatalf("%s: spec.%s: %v", d.file, l.field, err)
			}
			for _, m := range members {
				spec, _ := m.(map[string]any)
				name, _ := spec["name"].(string)
				out = append(out, &unstructured.Unstructured{Object: map[string]any{
					"apiVersion": mesh.GetAPIVersion(),
					"kind":       l.kind,
					"metadata":   map[string]any{"name": mesh.GetName() + "-" + name},
					"spec":       spec,
				}})
			}
		}
	}
	if len(out) == 0 {
		t.Fatal("no FunctionMesh member emitted")
	}
	return out
}

// decodeObject reads one YAML document with integers as int64, as the
// API server's answers have them, so that the two compare equal.
func decodeObject(t *testing.T, doc []byte) *unstructured.Unstructured {
	t.Helper()
	data, err := sigsyaml.YAMLToJSON(doc)
	if err != nil {
		t.Fatal(err)
	}
	u := &unstructured.Unstructured{}
	if err := u.UnmarshalJSON(data); err != nil {
		t.Fatal(err)
	}
	return u
}

func withLabel(u *unstructured.Unstructured, key string) *unstructured.Unstructured {
	u = u.DeepCopy()
	labels := u.GetLabels()
	if labels == nil {
		labels = map[string]string{}
	}
	labels[key] = "true"
	u.SetLabels(labels)
	return u
}

// specChanges lists each field of the spec that after adds, removes or
// changes from before, saying who did it.
func specChanges(before, after *unstructured.Unstructured, who string) []string {
	r := &fieldReporter{who: who}
	cmp.Equal(before.Object["spec"], after.Object["spec"], cmp.Reporter(r))
	return r.changes
}

// fieldReporter collects, through go-cmp, where two JSON values differ,
// as paths like spec.input.typeClassName.
type fieldReporter struct {
	who     string
	path    cmp.Path
	changes []string
}

func (r *fieldReporter) PushStep(s cmp.PathStep) { r.path = append(r.path, s) }
func (r *fieldReporter) PopStep()                { r.path = r.path[:len(r.path)-1] }

func (r *fieldReporter) Report(rs cmp.Result) {
	if rs.Equal() {
		return
	}
	x, y := r.path.Last().Values()
	var what string
	switch {
	case !x.IsValid():
		what = "added " + jsonText(y)
	case !y.IsValid():
		what = "removed " + jsonText(x)
	default:
		what = fmt.Sprintf("changed from %s to %s", jsonText(x), jsonText(y))
	}
	r.changes = append(r.changes, fmt.Sprintf("%s: %s (%s)", fieldPath(r.path), what, r.who))
}

func fieldPath(p cmp.Path) string {
	b := strings.Builder{}
	b.WriteString("spec")
	for _, s := range p {
		switch s := s.(type) {
		case cmp.MapIndex:
			fmt.Fprintf(&b, ".%v", s.Key())
		case cmp.SliceIndex:
			i := s.Key()
			if i < 0 { // an element only one side has
				x, y := s.SplitKeys()
				i = max(x, y)
			}
			fmt.Fprintf(&b, "[%d]", i)
		}
	}
	return b.String()
}

func jsonText(v reflect.Value) string {
	data, err := json.Marshal(v.Interface())
	if err != nil {
		return fmt.Sprint(v.Interface())
	}
	return string(data)
}

// ruleCase breaks an accepted Function the way one rule meshc checks is
// about.
type ruleCase struct {
	name  string
	meshc string // where meshc checks the rule
	edit  func(u *unstructured.Unstructured)
	// kind, when set, turns the Function into that kind, keeping the spec
	// fields the kind's CRD has.
	kind string
	// skipDefaulting keeps the mutating webhook away, to show what the
	// validating webhook alone says.
	skipDefaulting bool
	// want is part of the refusal; empty when the operator accepts it.
	want string
	// schema: the CRD's schema refuses it, before any webhook runs.
	schema bool
	// stricter: meshc refuses what the operator accepts.
	stricter bool
}

// TestAPIServerOperatorRefuses shows, for each rule meshc checks for the
// functionmesh flavour (functionmesh.go's emit errors, compiler's
// OperatorRules and option checks, and the offline copy of the webhook's
// rules in check_test.go), that the operator refuses what the rule is
// about, with its message, and that meshc's offline checker refuses the
// same object. A rule the operator does not enforce is a case marked
// stricter, and logged.
func TestAPIServerOperatorRefuses(t *testing.T) {
	k := startAPIServer(t)
	op := startOperator(t, k)
	offline := newChecker(t)
	for _, f := range operatorCRDFiles(t, op.crds) {
		if err := offline.addCRD(f); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
	}
	base := childNamed(t, operatorChildren(t, emitFile(t, "../../examples/wordcount.mesh", FunctionMesh)), "wordcount-split")
	if _, err := k.dryRunApply(base); err != nil {
		t.Fatalf("the operator refuses the unbroken Function: %v", err)
	}
	if err := offlineCheck(offline, base); err != nil {
		t.Fatalf("meshc's offline checker refuses the unbroken Function; fix that first (see TestManifestsValid): %v", err)
	}
	for _, tt := range operatorRuleCases() {
		t.Run(tt.name, func(t *testing.T) {
			u := base.DeepCopy()
			tt.edit(u)
			if tt.kind != "" {
				u = asKind(t, u, tt.kind, op.crds)
			}
			if tt.skipDefaulting {
				u = withLabel(u, skipDefaultingLabel)
			}
			checkOperatorVerdict(t, k, u, tt)
			checkOfflineVerdict(t, offline, u, tt)
		})
	}
}

func checkOperatorVerdict(t *testing.T, k *kube, u *unstructured.Unstructured, tt ruleCase) {
	t.Helper()
	_, err := k.dryRunApply(u)
	switch {
	case tt.want == "" && err != nil:
		t.Errorf("the operator refuses it: %v", err)
	case tt.want == "" && tt.stricter:
		t.Logf("meshc (%s) is stricter: the operator accepts it", tt.meshc)
	case tt.want == "":
		t.Logf("accepted by both meshc and the operator")
	case err == nil:
		t.Errorf("the operator accepts it, but meshc (%s) refuses it as if the operator would not: want a refusal saying %q", tt.meshc, tt.want)
	case !strings.Contains(err.Error(), tt.want):
		t.Errorf("refusal = %v\nwant one saying %q", err, tt.want)
	case tt.schema == strings.Contains(err.Error(), "admission webhook"):
		t.Errorf("refused by the wrong party (want the CRD schema: %v): %v", tt.schema, err)
	default:
		t.Logf("meshc: %s; the operator: %v", tt.meshc, err)
	}
}

// checkOfflineVerdict: meshc's offline checker (check_test.go) must agree
// with the operator, or be stricter where the case says so.
func checkOfflineVerdict(t *testing.T, c *checker, u *unstructured.Unstructured, tt ruleCase) {
	t.Helper()
	err := offlineCheck(c, u)
	if wantRefused := tt.want != "" || tt.stricter; wantRefused != (err != nil) {
		t.Errorf("meshc's offline checker: error = %v, want refused = %v", err, wantRefused)
	}
}

// offlineCheck runs meshc's offline checker (check_test.go) on u.
func offlineCheck(c *checker, u *unstructured.Unstructured) error {
	data, err := json.Marshal(u.Object)
	if err != nil {
		return err
	}
	_, err = c.check(data)
	return err
}

func childNamed(t *testing.T, children []*unstructured.Unstructured, name string) *unstructured.Unstructured {
	t.Helper()
	for _, c := range children {
		if c.GetName() == name {
			return c
		}
	}
	t.Fatalf("no member %s emitted", name)
	return nil
}

// asKind turns a Function into a Source or Sink with the same spec, less
// the fields that kind's CRD does not have (strict field validation would
// refuse them before any webhook).
func asKind(t *testing.T, u *unstructured.Unstructured, kind, crds string) *unstructured.Unstructured {
	t.Helper()
	fields := crdSpecFields(t, filepath.Join(crds, "compute.functionmesh.io_"+strings.ToLower(kind)+"s.yaml"))
	spec, _ := u.Object["spec"].(map[string]any)
	for f := range spec {
		if !fields[f] {
			delete(spec, f)
		}
	}
	u.SetKind(kind)
	return u
}

func crdSpecFields(t *testing.T, file string) map[string]bool {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var crd apiextensionsv1.CustomResourceDefinition
	if err := sigsyaml.Unmarshal(data, &crd); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	fields := map[string]bool{}
	for _, v := range crd.Spec.Versions {
		for f := range v.Schema.OpenAPIV3Schema.Properties["spec"].Properties {
			fields[f] = true
		}
	}
	return fields
}

func editSet(value any, path ...string) func(*unstructured.Unstructured) {
	return func(u *unstructured.Unstructured) {
		if err := unstructured.SetNestedField(u.Object, value, path...); err != nil {
			panic(err) // a mistake in the case table
		}
	}
}

func editDel(path ...string) func(*unstructured.Unstructured) {
	return func(u *unstructured.Unstructured) { unstructured.RemoveNestedField(u.Object, path...) }
}

func editAll(fs ...func(*unstructured.Unstructured)) func(*unstructured.Unstructured) {
	return func(u *unstructured.Unstructured) {
		for _, f := range fs {
			f(u)
		}
	}
}

func editName(n int) func(*unstructured.Unstructured) {
	return func(u *unstructured.Unstructured) {
		u.SetName("wordcount-" + strings.Repeat("x", n-len("wordcount-")))
	}
}

// outputIsInput makes the output topic the first input topic.
func outputIsInput(u *unstructured.Unstructured) {
	topics, _, _ := unstructured.NestedStringSlice(u.Object, "spec", "input", "topics")
	if len(topics) == 0 {
		panic("the base Function has no input topic") // a mistake in the case table
	}
	editSet(topics[0], "spec", "output", "topic")(u)
}

// operatorRuleCases break wordcount's split function, an atleast_once
// Function with 2 replicas, maxMessageRetry 3, and input and output topics.
func operatorRuleCases() []ruleCase {
	const (
		inEmitter  = "functionmesh.go"
		inCompiler = "compiler/operator.go OperatorRules"
		inOptions  = "compiler/options.go"
		inChecker  = "check_test.go memberRules"
		words      = "persistent://public/default/words"
	)
	retries := editSet(int64(3), "spec", "maxMessageRetry")
	effectivelyOnce := editAll(editSet("effectively_once", "spec", "processingGuarantee"), editDel("spec", "maxMessageRetry"))
	autoscaled := func(r, lo, hi int64) func(*unstructured.Unstructured) {
		return editAll(editSet(r, "spec", "replicas"), editSet(lo, "spec", "minReplicas"), editSet(hi, "spec", "maxReplicas"))
	}
	invalidResources := "resource requirement is invalid"
	return []ruleCase{
		{name: "name of 43 characters", meshc: inEmitter + " member, MaxOperatorName", edit: editName(MaxOperatorName)},
		{name: "name of 44 characters", meshc: inEmitter + " member, MaxOperatorName", edit: editName(MaxOperatorName + 1),
			want: "function name must be no more than 43 characters"},
		{name: "replicas 0", meshc: inEmitter + " memberReplicas", edit: editAll(editSet(int64(0), "spec", "replicas"),
			editDel("spec", "minReplicas"), editDel("spec", "maxReplicas")),
			want: "minReplicas must be less than or equal to replicas"},
		{name: "autoscaling from min_replicas 0", meshc: inEmitter + " memberReplicas", edit: autoscaled(0, 0, 3),
			want: "minReplicas cannot be zero or negative"},
		{name: "two topic patterns", meshc: inEmitter + " memberTopics", edit: editSet([]any{"a.*", "b.*"}, "spec", "input", "topicPattern"),
			want: "topicPattern", schema: true},
		{name: "dead-letter topic without retries", meshc: inCompiler, edit: editAll(editDel("spec", "maxMessageRetry"),
			editSet("persistent://public/default/dead", "spec", "deadLetterTopic")),
			want: "dead letter topic is set but max message retry is set to infinity"},
		{name: "output topic is an input topic", meshc: inCompiler, edit: outputIsInput,
			want: "is also being used as an input topic"},
		{name: "output topic is the input pattern", meshc: inChecker, edit: editAll(editDel("spec", "input"),
			editSet(words, "spec", "input", "topicPattern"), editSet(words, "spec", "output", "topic")),
			want: "is also being used as an input topic"},
		{name: "no input topic", meshc: inChecker, edit: editDel("spec", "input"),
			want: "No input topic(s) specified"},
		{name: "timeout with effectively_once", meshc: inOptions, edit: editAll(effectivelyOnce, editSet(int64(1000), "spec", "timeout")),
			want: "message timeout can only be set for AtleastOnce processing guarantee"},
		{name: "max_retries with effectively_once", meshc: inOptions, edit: editAll(effectivelyOnce, retries),
			want: "MaxMessageRetries and Effectively once are not compatible"},
		{name: "retainKeyOrdering with effectively_once", meshc: inChecker, edit: editAll(effectivelyOnce, editSet(true, "spec", "retainKeyOrdering")),
			want: "retain Key ordering cannot be set"},
		{name: "retainOrdering and retainKeyOrdering", meshc: inChecker, edit: editAll(editSet(true, "spec", "retainOrdering"), editSet(true, "spec", "retainKeyOrdering")),
			want: "only one of retain ordering or retain key ordering can be set"},
		{name: "no runtime", meshc: inChecker, edit: editDel("spec", "golang"), want: "runtime cannot be empty"},
		{name: "golang and python runtimes", meshc: inChecker, edit: editAll(editSet("f.py", "spec", "python", "py"), editSet("F", "spec", "className")),
			want: "you can only specify one runtime"},
		{name: "golang and genericRuntime", meshc: inChecker, edit: editAll(editSet("f.js", "spec", "genericRuntime", "functionFile"),
			editSet("nodejs", "spec", "genericRuntime", "language")), stricter: true},
		{name: "empty golang.go", meshc: inChecker, edit: editSet("", "spec", "golang", "go"), want: "go cannot be empty in golang runtime"},
		{name: "sink on the golang runtime", meshc: inChecker, kind: "Sink", edit: func(*unstructured.Unstructured) {},
			want: "sink must have java runtime specified"},
		{name: "source on the golang runtime", meshc: inChecker, kind: "Source", edit: func(*unstructured.Unstructured) {},
			want: "source must have java runtime specified"},
		{name: "statefulConfig on golang", meshc: inChecker, edit: editSet("bk://state:4181", "spec", "statefulConfig", "pulsar", "serviceUrl"),
			want: "Golang function do not support stateful function yet"},
		{name: "HPA and VPA", meshc: inChecker, edit: editAll(autoscaled(2, 2, 4), editSet(map[string]any{}, "spec", "pod", "vpa")),
			want: "you can not enable HPA and VPA at the same time"},
		{name: "no pulsarConfig", meshc: inChecker, edit: editDel("spec", "pulsar"), want: "Pulsar configuration needs to be set"},
		{name: "no autoAck, validating webhook alone", meshc: inChecker, edit: editDel("spec", "autoAck"), skipDefaulting: true,
			want: "autoAck cannot be nil"},
		{name: "no autoAck", meshc: inChecker, edit: editDel("spec", "autoAck"), stricter: true},
		{name: "negative replicas", meshc: inChecker, edit: editSet(int64(-1), "spec", "replicas"),
			want: "spec.replicas in body should be greater than or equal to 0", schema: true},
		{name: "replicas above maxReplicas", meshc: inChecker, edit: autoscaled(5, 1, 3),
			want: "maxReplicas must be greater than or equal to replicas"},
		{name: "replicas 0 with maxReplicas", meshc: inChecker, edit: editAll(autoscaled(0, 1, 3), editDel("spec", "minReplicas")),
			want: "replicas cannot be zero or negative when HPA is enabled"},
		{name: "minReplicas above replicas", meshc: inChecker, edit: autoscaled(2, 3, 4),
			want: "minReplicas must be less than or equal to replicas"},
		{name: "minReplicas above maxReplicas", meshc: inOptions + " and " + inChecker, edit: autoscaled(4, 4, 3),
			want: "minReplicas must be less than or equal to maxReplicas"},
		{name: "no memory request", meshc: inChecker, edit: editDel("spec", "resources", "requests", "memory"), want: invalidResources},
		{name: "no memory limit", meshc: inChecker, edit: editDel("spec", "resources", "limits", "memory"), want: invalidResources},
		{name: "memory request above its limit", meshc: inChecker, edit: editSet("256Mi", "spec", "resources", "requests", "memory"),
			want: invalidResources},
		{name: "cpu request above its limit", meshc: inChecker, edit: editSet("200m", "spec", "resources", "requests", "cpu"),
			want: invalidResources},
	}
}
