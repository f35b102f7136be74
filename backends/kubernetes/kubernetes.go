package kubernetes

import (
	"cmp"
	"fmt"
	"hash"
	"maps"
	"path"
	"regexp"
	"slices"
	"strings"
	"unsafe"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/meshc/meshc/backends"
	"github.com/meshc/meshc/planner/plan"
)

// Flavours of output.
const (
	Plain        = "plain"
	FunctionMesh = "functionmesh"
)

// Defaults for what a plan does not say.
const (
	// DefaultImage holds the standard instance binary, meshrt.
	DefaultImage = "ghcr.io/meshc/meshrt:latest"
	// DefaultPulsarURL is the broker Service of Pulsar's Helm chart
	// installed as "pulsar" in the same namespace.
	DefaultPulsarURL = "pulsar://pulsar-broker:6650"
	// MetricsPort serves /metrics, /healthz and /readyz.
	MetricsPort = 9090
)

// Options choose the flavour, the namespace, and where instances find
// Pulsar.
type Options struct {
	Flavour   string // plain (default) or functionmesh
	PulsarURL string // default the plan's, else DefaultPulsarURL
	// Image holds the instance binary; default the plan's, else
	// DefaultImage.
	Image string
	// Binary is the instance binary in the image (a user's own, with
	// their Go functions); default the plan's, else meshrt.
	Binary string
	// Namespace, when set, is written into every namespaced object; when
	// empty, objects name none and kubectl's current namespace applies.
	Namespace string
	// CreateNamespace adds the Namespace object itself; it needs
	// Namespace.
	CreateNamespace bool
	// Version is the meshc version every object and pod carries in
	// VersionLabel; empty leaves the label out.
	Version string
}

// NamespaceFile holds the Namespace object, with CreateNamespace. It comes
// first in Emit's files, the kustomization and a stream: every other
// object is created in it.
const NamespaceFile = "namespace.yaml"

// Emit returns the manifests of p, sorted by path but for NamespaceFile,
// which comes first, and a FunctionMesh's plans, which come before it.
func Emit(p *plan.Plan, o Options) ([]backends.File, error) {
	o.PulsarURL = backends.PulsarURL(p, o.PulsarURL, DefaultPulsarURL)
	if err := o.check(); err != nil {
		return nil, err
	}
	names, err := names(p)
	if err != nil {
		return nil, err
	}
	e := &emitter{p: p, o: o, names: names, mesh: dnsName(p.Mesh.Name)}
	e.pulsarEnv, e.pulsarVolume = pulsarAccess(p, o.PulsarURL)
	e.buildParts()
	if err := checkName("mesh", p.Mesh.Name, e.mesh); err != nil {
		return nil, err
	}
	var files []backends.File
	switch o.Flavour {
	case Plain, "":
		files, err = e.plain()
	case FunctionMesh:
		files, err = e.functionMesh()
	default:
		return nil, fmt.Errorf("unknown flavour %q: choose %s or %s", o.Flavour, Plain, FunctionMesh)
	}
	if err != nil {
		return nil, err
	}
	if o.CreateNamespace {
		ns, err := e.file(NamespaceFile, e.namespace())
		if err != nil {
			return nil, err
		}
		files = append(files, ns)
	}
	k, err := kustomization(files)
	if err != nil {
		return nil, err
	}
	files = append(files, k)
	slices.SortFunc(files, func(a, b backends.File) int { return comparePaths(a.Path, b.Path) })
	return files, nil
}

// check refuses options the API server would refuse, before anything is
// written.
func (o Options) check() error {
	if o.CreateNamespace && o.Namespace == "" {
		return fmt.Errorf("creating the namespace needs a namespace: pass --namespace NAME with --create-namespace")
	}
	if bad := validation.IsDNS1123Label(o.Namespace); o.Namespace != "" && len(bad) > 0 {
		return fmt.Errorf("--namespace %q is not a Kubernetes namespace name: %s", o.Namespace, strings.Join(bad, "; "))
	}
	if bad := validation.IsValidLabelValue(o.Version); len(bad) > 0 {
		return fmt.Errorf("version %q cannot be the label %s: %s", o.Version, VersionLabel, strings.Join(bad, "; "))
	}
	return nil
}

// comparePaths orders files by path, but for a few that come before what
// uses them (see firstFiles).
func comparePaths(a, b string) int {
	return cmp.Or(cmp.Compare(firstRank(a), firstRank(b)), strings.Compare(a, b))
}

// firstFiles come first, in this order: the Namespace, in which every
// other object is created, then a FunctionMesh's plans, which its members
// mount (and which, written first, name their ConfigMaps for it).
var firstFiles = []string{NamespaceFile, plansFile}

// firstRank is path's place in firstFiles, or len(firstFiles).
func firstRank(path string) int {
	if i := slices.Index(firstFiles, path); i >= 0 {
		return i
	}
	return len(firstFiles)
}

// emitter holds what one Emit call shares.
type emitter struct {
	p     *plan.Plan
	o     Options
	names map[string]string // component name -> resource name
	mesh  string            // the mesh's resource name

	// What every pod gets to reach Pulsar (see pulsarAccess).
	pulsarEnv    []corev1.EnvVar
	pulsarVolume *corev1.Volume

	// The buffer of instancePlan, reused from one component to the next.
	planText []byte
	plans    plan.InstanceEncoder
	// The hash of planName and its buffer, reused likewise.
	planHash hash.Hash
	hashText []byte

	parts   meshParts        // built once per Emit
	current componentParts   // of the component being built
	objects componentObjects // of the component being written
	shared  *sharedTexts     // the YAML of both
	text    textChunks       // where files' text is written
	// The text of a file made as it is written, reused from one to the
	// next.
	fileText []byte
}

// yamlEncoder writes YAML files; tests swap in the reference encoder.
var yamlEncoder = appendYAML

// file encodes objects into one YAML file, written into e.text.
func (e *emitter) file(path string, objs ...any) (backends.File, error) {
	data, err := yamlEncoder(e.text.room(), e.shared, objs...)
	if err != nil {
		return backends.File{}, fmt.Errorf("encoding %s: %w", path, err)
	}
	return backends.File{Path: path, Data: e.text.keep(data)}, nil
}

// writeFile encodes objects into one YAML file; shared may be nil.
func writeFile(shared *sharedTexts, path string, objs ...any) (backends.File, error) {
	data, err := yamlEncoder(nil, shared, objs...)
	if err != nil {
		return backends.File{}, fmt.Errorf("encoding %s: %w", path, err)
	}
	return backends.File{Path: path, Data: data}, nil
}

// KustomizationFile is the file that lists the others for kustomize; it is
// not itself a resource, and is left out of a stream for kubectl apply.
const KustomizationFile = "kustomization.yaml"

// IsResource tells whether a file Emit writes holds objects to apply, and
// not kustomize's own configuration.
func IsResource(file string) bool {
	switch path.Base(file) {
	case KustomizationFile, "kustomization.yml", KustomizeConfigFile:
		return false
	}
	ext := path.Ext(file)
	return ext == ".yaml" || ext == ".yml"
}

type kustomizationDoc struct {
	APIVersion     string   `json:"apiVersion"`
	Kind           string   `json:"kind"`
	Resources      []string `json:"resources"`
	Configurations []string `json:"configurations,omitempty"`
}

// kustomization lists the files for kustomize: resources, and the
// configuration that teaches it the custom resources' references.
func kustomization(files []backends.File) (backends.File, error) {
	k := kustomizationDoc{APIVersion: "kustomize.config.k8s.io/v1beta1", Kind: "Kustomization"}
	for _, f := range files {
		if f.Path == KustomizeConfigFile {
			k.Configurations = append(k.Configurations, f.Path)
			continue
		}
		k.Resources = append(k.Resources, f.Path)
	}
	slices.SortFunc(k.Resources, comparePaths)
	return writeFile(nil, KustomizationFile, k)
}

// Labels meshc sets besides the selector's.
const (
	// VersionLabel carries the meshc version that wrote an object.
	VersionLabel = "app.kubernetes.io/version"
	// PlanOfLabel marks an instance plan's ConfigMap with its component
	// (the value of app.kubernetes.io/name): plans are content-addressed,
	// and the earlier plans of a component stay as its rollout history
	// until something prunes them by this label.
	PlanOfLabel = "meshc.io/plan-of"
)

// meshLabels are the labels of every object of the mesh.
func (e *emitter) meshLabels() map[string]string {
	return e.addMeshLabels(make(map[string]string, 3))
}

// addMeshLabels adds the mesh's labels to l, and returns it.
func (e *emitter) addMeshLabels(l map[string]string) map[string]string {
	l[partOfLabel] = e.mesh
	l[managedByLabel] = "meshc"
	e.addVersion(l)
	return l
}

func (e *emitter) addVersion(l map[string]string) {
	if e.o.Version != "" {
		l[VersionLabel] = e.o.Version
	}
}

// objectMeta names a namespaced object, in Options.Namespace when set.
func (e *emitter) objectMeta(name string, labels map[string]string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: name, Namespace: e.o.Namespace, Labels: labels}
}

// namespace is the Namespace object, metadata only (corev1.Namespace
// would add an empty spec). It carries no part-of label: a namespace may
// hold several meshes, and whatever removes a mesh by its labels must not
// take the namespace, and all in it, along.
func (e *emitter) namespace() *metav1.PartialObjectMetadata {
	l := map[string]string{"app.kubernetes.io/managed-by": "meshc"}
	e.addVersion(l)
	return &metav1.PartialObjectMetadata{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Namespace"},
		ObjectMeta: metav1.ObjectMeta{Name: e.o.Namespace, Labels: l},
	}
}

// componentPath names the file of one component's objects.
func componentPath(c *plan.Component) string {
	return string(c.Kind) + "-" + dnsName(c.Name) + ".yaml"
}

// instancePlan is the JSON every instance of c reads. Replicas share it:
// it says index 0. The replica count is left out, as on Nomad: instances
// do not read it, and since the plan's ConfigMap is named after its
// content, a rescale that changed it would roll every pod. The text is
// the plan's own indented JSON, < > & as they are, and a newline.
//
// The text is written into a buffer kept for the whole Emit, and the
// string returned is that buffer, not a copy of it: a mesh's plans are
// most of what it allocates. So the object holding it must be written
// out before the next call, which writes over it.
func (e *emitter) instancePlan(c *plan.Component) (string, error) {
	in := e.p.Instance(c, 0)
	in.Component.Replicas = plan.Replicas{}
	b, err := e.plans.Append(e.planText[:0], &in, false)
	if err != nil {
		return "", err
	}
	e.planText = append(b, '\n')
	return unsafe.String(unsafe.SliceData(e.planText), len(e.planText)), nil
}

// digestRef matches an image named by its content, REF@sha256:HEX (or
// sha512): the same bytes wherever and whenever a node pulls it.
var digestRef = regexp.MustCompile(`@(sha256:[0-9a-f]{64}|sha512:[0-9a-f]{128})$`)

// TagImages lists the images Emit gives p's instances that are not named
// by a digest, each once, sorted. A tag can be moved to another image
// while the mesh runs: pods started later (a restart, a rescale, a drained
// node) would then run other code than the rest, and a rollback would not
// bring the old code back.
func TagImages(p *plan.Plan, o Options) []string {
	e := &emitter{p: p, o: o}
	tags := map[string]bool{}
	for i := range p.Components {
		if image := e.image(&p.Components[i]); !digestRef.MatchString(image) {
			tags[image] = true
		}
	}
	return slices.Sorted(maps.Keys(tags))
}
