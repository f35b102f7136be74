package kubernetes

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apiextensions-apiserver/pkg/apis/apiextensions"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	structuralschema "k8s.io/apiextensions-apiserver/pkg/apiserver/schema"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/defaulting"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	utilvalidation "k8s.io/apimachinery/pkg/util/validation"
	sigsyaml "sigs.k8s.io/yaml"
)

// checker validates manifests offline: built-in kinds decode strictly
// into their k8s.io/api types; custom resources validate against the
// operator's CRD schemas, with unknown fields refused and the operator's
// webhook-only rules enforced.
type checker struct {
	decoder runtime.Decoder
	crds    map[schema.GroupVersionKind]*crdSchema
}

type crdSchema struct {
	validator  validation.SchemaValidator
	structural *structuralschema.Structural
}

// crdFiles are the CustomResourceDefinitions the tests use.
func crdFiles(t testing.TB) []string {
	files, err := filepath.Glob("testdata/crds/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no CRDs in testdata/crds: %v", err)
	}
	return files
}

func newChecker(t testing.TB) *checker {
	t.Helper()
	scheme := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{
		corev1.AddToScheme, appsv1.AddToScheme, autoscalingv2.AddToScheme, policyv1.AddToScheme,
	} {
		if err := add(scheme); err != nil {
			t.Fatal(err)
		}
	}
	c := &checker{
		decoder: serializer.NewCodecFactory(scheme, serializer.EnableStrict).UniversalDeserializer(),
		crds:    map[schema.GroupVersionKind]*crdSchema{},
	}
	for _, file := range crdFiles(t) {
		if err := c.addCRD(file); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
	}
	return c
}

func (c *checker) addCRD(file string) error {
	data, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	var crd apiextensionsv1.CustomResourceDefinition
	if err := sigsyaml.UnmarshalStrict(data, &crd); err != nil {
		return err
	}
	for _, v := range crd.Spec.Versions {
		var props apiextensions.JSONSchemaProps
		if err := apiextensionsv1.Convert_v1_JSONSchemaProps_To_apiextensions_JSONSchemaProps(v.Schema.OpenAPIV3Schema, &props, nil); err != nil {
			return err
		}
		sv, _, err := validation.NewSchemaValidator(&props)
		if err != nil {
			return err
		}
		st, err := structuralschema.NewStructural(&props)
		if err != nil {
			return err
		}
		gvk := schema.GroupVersionKind{Group: crd.Spec.Group, Version: v.Name, Kind: crd.Spec.Names.Kind}
		c.crds[gvk] = &crdSchema{validator: sv, structural: st}
	}
	return nil
}

// check validates one YAML document and returns its object: a typed one
// for built-in kinds, an unstructured one for custom resources.
func (c *checker) check(doc []byte) (runtime.Object, error) {
	var tm metav1.TypeMeta
	if err := sigsyaml.Unmarshal(doc, &tm); err != nil {
		return nil, err
	}
	gvk := schema.FromAPIVersionAndKind(tm.APIVersion, tm.Kind)
	if crd, ok := c.crds[gvk]; ok {
		return checkCustom(doc, crd)
	}
	obj, _, err := c.decoder.Decode(doc, nil, nil)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", gvk.Kind, err)
	}
	if _, ok := obj.(*runtime.Unknown); ok {
		return nil, fmt.Errorf("%s is not a known kind", gvk)
	}
	return obj, nil
}

func checkCustom(doc []byte, crd *crdSchema) (runtime.Object, error) {
	data, err := sigsyaml.YAMLToJSONStrict(doc)
	if err != nil {
		return nil, err
	}
	u := &unstructured.Unstructured{}
	if err := u.UnmarshalJSON(data); err != nil {
		return nil, err
	}
	var errs []string
	meta, _ := json.Marshal(u.Object["metadata"])
	dec := json.NewDecoder(bytes.NewReader(meta))
	dec.DisallowUnknownFields()
	var om metav1.ObjectMeta
	if err := dec.Decode(&om); err != nil {
		errs = append(errs, "metadata: "+err.Error())
	}
	for _, e := range utilvalidation.IsDNS1123Subdomain(om.Name) {
		errs = append(errs, "metadata.name: "+e)
	}
	// As the API server does: defaults first, then the schema.
	defaulting.Default(u.Object, crd.structural)
	for _, e := range validation.ValidateCustomResource(nil, u.Object, crd.validator) {
		errs = append(errs, e.Error())
	}
	errs = append(errs, unknownFields("", u.Object, crd.structural)...)
	errs = append(errs, webhookRules(u)...)
	if len(errs) > 0 {
		return nil, fmt.Errorf("%s %s: %s", u.GetKind(), u.GetName(), strings.Join(errs, "; "))
	}
	return u, nil
}

// unknownFields lists the fields of v that schema s does not declare. The
// operator's CRDs preserve unknown fields in places, so the API server
// would keep a misspelt field and the operator ignore it; here it is an
// error. An object schema without properties is free-form (funcConfig).
func unknownFields(path string, v any, s *structuralschema.Structural) []string {
	if s == nil {
		return nil
	}
	var out []string
	switch v := v.(type) {
	case map[string]any:
		if len(s.Properties) == 0 && (s.AdditionalProperties == nil || s.AdditionalProperties.Structural == nil) {
			return nil
		}
		for _, k := range slices.Sorted(maps.Keys(v)) {
			if p, ok := s.Properties[k]; ok {
				out = append(out, unknownFields(path+"."+k, v[k], &p)...)
			} else if s.AdditionalProperties != nil && s.AdditionalProperties.Structural != nil {
				out = append(out, unknownFields(path+"."+k, v[k], s.AdditionalProperties.Structural)...)
			} else {
				out = append(out, fmt.Sprintf("%s.%s: unknown field", path, k))
			}
		}
	case []any:
		for i, item := range v {
			out = append(out, unknownFields(fmt.Sprintf("%s[%d]", path, i), item, s.Items)...)
		}
	}
	return out
}

// operatorMember is what the operator's admission webhook reads of a
// Function, Source or Sink, or of a member of a FunctionMesh.
type operatorMember struct {
	Name        string `json:"name"`
	Replicas    *int32 `json:"replicas"`
	MinReplicas *int32 `json:"minReplicas"`
	MaxReplicas *int32 `json:"maxReplicas"`

	Java           *json.RawMessage     `json:"java"`
	Python         *json.RawMessage     `json:"python"`
	Golang         *struct{ Go string } `json:"golang"`
	GenericRuntime *json.RawMessage     `json:"genericRuntime"`

	Input struct {
		Topics       []string `json:"topics"`
		TopicPattern string   `json:"topicPattern"`
	} `json:"input"`
	Output struct {
		Topic string `json:"topic"`
	} `json:"output"`

	ProcessingGuarantee string `json:"processingGuarantee"`
	Timeout             int32  `json:"timeout"`
	MaxMessageRetry     int32  `json:"maxMessageRetry"`
	DeadLetterTopic     string `json:"deadLetterTopic"`
	RetainOrdering      bool   `json:"retainOrdering"`
	RetainKeyOrdering   bool   `json:"retainKeyOrdering"`
	AutoAck             *bool  `json:"autoAck"`

	StatefulConfig *struct {
		Pulsar *json.RawMessage `json:"pulsar"`
	} `json:"statefulConfig"`
	Pod struct {
		VPA    *json.RawMessage  `json:"vpa"`
		Labels map[string]string `json:"labels"`
	} `json:"pod"`
	Pulsar *struct {
		PulsarConfig string `json:"pulsarConfig"`
	} `json:"pulsar"`
	Resources corev1.ResourceRequirements `json:"resources"`
}

// webhookRules applies the rules of the operator's admission webhook that
// its CRD schemas do not carry, to a FunctionMesh's members or to a
// Function, Source or Sink.
func webhookRules(u *unstructured.Unstructured) []string {
	spec, _ := json.Marshal(u.Object["spec"])
	if u.GetKind() != "FunctionMesh" {
		var m operatorMember
		if err := json.Unmarshal(spec, &m); err != nil {
			return []string{"spec: " + err.Error()}
		}
		return memberRules(u.GetKind(), u.GetName(), &m)
	}
	var mesh struct {
		Functions []operatorMember `json:"functions"`
		Sources   []operatorMember `json:"sources"`
		Sinks     []operatorMember `json:"sinks"`
	}
	if err := json.Unmarshal(spec, &mesh); err != nil {
		return []string{"spec: " + err.Error()}
	}
	var out []string
	for kind, ms := range map[string][]operatorMember{"Function": mesh.Functions, "Source": mesh.Sources, "Sink": mesh.Sinks} {
		for i := range ms {
			// The operator names each member MESH-MEMBER.
			out = append(out, memberRules(kind, u.GetName()+"-"+ms[i].Name, &ms[i])...)
		}
	}
	slices.Sort(out)
	return out
}

func memberRules(kind, name string, m *operatorMember) []string {
	var out []string
	fail := func(format string, args ...any) {
		out = append(out, fmt.Sprintf("%s %s: ", kind, name)+fmt.Sprintf(format, args...))
	}
	if len(name) > MaxOperatorName {
		fail("name has %d characters, the operator takes at most %d", len(name), MaxOperatorName)
	}
	runtimes := 0
	for _, set := range []bool{m.Java != nil, m.Python != nil, m.Golang != nil, m.GenericRuntime != nil} {
		if set {
			runtimes++
		}
	}
	if runtimes != 1 {
		fail("needs exactly one runtime (java, python, golang or genericRuntime), has %d", runtimes)
	}
	if kind != "Function" && m.Java == nil {
		fail("the operator runs sources and sinks on the java runtime only")
	}
	if m.Golang != nil && m.Golang.Go == "" {
		fail("golang.go is empty")
	}
	if m.Golang != nil && m.StatefulConfig != nil && m.StatefulConfig.Pulsar != nil {
		fail("statefulConfig is not supported for Go functions")
	}
	if m.ProcessingGuarantee == "effectively_once" {
		if m.Timeout != 0 {
			fail("timeout works only with atleast_once")
		}
		if m.MaxMessageRetry > 0 {
			fail("maxMessageRetry is not compatible with effectively_once")
		}
		if m.RetainKeyOrdering {
			fail("retainKeyOrdering is not compatible with effectively_once")
		}
	}
	if m.RetainKeyOrdering && m.RetainOrdering {
		fail("only one of retainOrdering and retainKeyOrdering")
	}
	if m.DeadLetterTopic != "" && m.MaxMessageRetry <= 0 {
		fail("a dead-letter topic needs maxMessageRetry above 0")
	}
	if kind == "Function" && len(m.Input.Topics) == 0 && m.Input.TopicPattern == "" {
		fail("no input topic")
	}
	if m.Output.Topic != "" && (slices.Contains(m.Input.Topics, m.Output.Topic) || m.Input.TopicPattern == m.Output.Topic) {
		fail("output topic %s is also an input", m.Output.Topic)
	}
	if m.Pod.VPA != nil && m.MaxReplicas != nil {
		fail("HPA (maxReplicas) and VPA together")
	}
	if m.Pulsar == nil || m.Pulsar.PulsarConfig == "" {
		fail("pulsar.pulsarConfig is required")
	}
	if kind != "Source" && m.AutoAck == nil {
		fail("autoAck is required")
	}
	replicaRules(m, fail)
	resourceRules(m.Resources, fail)
	controllerRules(m, fail)
	return out
}

// operatorSelector are the labels the operator's controller selects a
// member's pods by (controllers/spec makeFunctionLabels); pod labels
// override its own, and a StatefulSet whose template's labels do not match
// its selector is refused.
var operatorSelector = []string{"app.kubernetes.io/name", "app.kubernetes.io/instance", "compute.functionmesh.io/app",
	"compute.functionmesh.io/component", "compute.functionmesh.io/name", "compute.functionmesh.io/namespace",
	"app", "component", "name", "namespace"}

// controllerRules are what the webhook admits but the operator's
// controller cannot run: found on a real node.
func controllerRules(m *operatorMember, fail func(string, ...any)) {
	for _, l := range operatorSelector {
		if _, ok := m.Pod.Labels[l]; ok {
			fail("pod label %s overrides the operator's, which its StatefulSet selects pods by", l)
		}
	}
	if m.Golang != nil && m.Golang.Go != "" && !path.IsAbs(m.Golang.Go) {
		// The operator's pod command runs ls -l and chmod +x on it, which
		// look in the working folder, not on PATH.
		fail("golang.go %q is not an absolute path", m.Golang.Go)
	}
}

func replicaRules(m *operatorMember, fail func(string, ...any)) {
	r, lo, hi := m.Replicas, m.MinReplicas, m.MaxReplicas
	if r != nil && *r < 0 {
		fail("replicas below 0")
	}
	if r != nil && hi != nil && (*r > *hi || *r == 0) {
		fail("with maxReplicas, replicas must be between 1 and maxReplicas")
	}
	if lo != nil && *lo <= 0 {
		fail("minReplicas must be above 0")
	}
	if lo != nil && r != nil && *lo > *r {
		fail("minReplicas %d above replicas %d", *lo, *r)
	}
	if lo != nil && hi != nil && *lo > *hi {
		fail("minReplicas above maxReplicas")
	}
}

// resourceRules: memory must be set, and requests may not exceed limits.
func resourceRules(r corev1.ResourceRequirements, fail func(string, ...any)) {
	if r.Requests.Memory().Sign() <= 0 || r.Limits.Memory().Sign() <= 0 {
		fail("resources need memory in requests and limits")
	}
	if r.Requests.Memory().Cmp(*r.Limits.Memory()) > 0 {
		fail("memory request above its limit")
	}
	if r.Limits.Cpu().Sign() != 0 && r.Requests.Cpu().Cmp(*r.Limits.Cpu()) > 0 {
		fail("cpu request above its limit")
	}
}

// TestManifestsValid checks every emitted manifest, both flavours, of
// every mesh.
func TestManifestsValid(t *testing.T) {
	c := newChecker(t)
	for _, file := range meshFiles(t) {
		for _, flavour := range []string{Plain, FunctionMesh} {
			t.Run(meshName(file)+"/"+flavour, func(t *testing.T) {
				files := emitFile(t, file, flavour)
				var objs []runtime.Object
				for _, d := range documents(t, files) {
					obj, err := c.check(d.data)
					if err != nil {
						t.Errorf("%s: %v", d.file, err)
						continue
					}
					objs = append(objs, obj)
				}
				for _, problem := range consistency(objs) {
					t.Error(problem)
				}
				checkKustomization(t, files)
			})
		}
	}
}

// TestValidatorAccepts: the operator's own sample passes the checker, so
// what the checker refuses is refused for a reason.
func TestValidatorAccepts(t *testing.T) {
	c := newChecker(t)
	files, _ := filepath.Glob("testdata/valid/*.yaml")
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		for _, doc := range splitDocuments(t, data) {
			if _, err := c.check(doc); err != nil {
				t.Errorf("%s: %v", file, err)
			}
		}
	}
}

// TestValidatorRefuses: each file of testdata/invalid starts with a
// "# want: TEXT" line, TEXT being part of the error the checker gives.
func TestValidatorRefuses(t *testing.T) {
	c := newChecker(t)
	files, _ := filepath.Glob("testdata/invalid/*.yaml")
	if len(files) == 0 {
		t.Fatal("no files in testdata/invalid")
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			first, _, _ := strings.Cut(string(data), "\n")
			want, ok := strings.CutPrefix(first, "# want: ")
			if !ok {
				t.Fatalf("the first line should be # want: TEXT")
			}
			_, err = c.check(data)
			t.Log(err)
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Fatalf("check error = %v, want it to say %q", err, want)
			}
		})
	}
}
