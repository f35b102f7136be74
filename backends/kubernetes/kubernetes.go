package kubernetes

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

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

// Options choose the flavour and where instances find Pulsar.
type Options struct {
	Flavour   string // plain (default) or functionmesh
	PulsarURL string // default DefaultPulsarURL
	// Image holds the instance binary; default the plan's, else
	// DefaultImage.
	Image string
	// Binary is the instance binary in the image (a user's own, with
	// their Go functions); default the plan's, else meshrt.
	Binary string
}

// Emit returns the manifests of p, sorted by path.
func Emit(p *plan.Plan, o Options) ([]backends.File, error) {
	if o.PulsarURL == "" {
		o.PulsarURL = DefaultPulsarURL
	}
	names, err := names(p)
	if err != nil {
		return nil, err
	}
	e := &emitter{p: p, o: o, names: names, mesh: dnsName(p.Mesh.Name)}
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
	k, err := kustomization(files)
	if err != nil {
		return nil, err
	}
	files = append(files, k)
	backends.Sort(files)
	return files, nil
}

// emitter holds what one Emit call shares.
type emitter struct {
	p     *plan.Plan
	o     Options
	names map[string]string // component name -> resource name
	mesh  string            // the mesh's resource name
}

// file encodes objects into one YAML file.
func file(path string, objs ...any) (backends.File, error) {
	data, err := encodeYAML(objs...)
	if err != nil {
		return backends.File{}, fmt.Errorf("encoding %s: %w", path, err)
	}
	return backends.File{Path: path, Data: data}, nil
}

// KustomizationFile is the file that lists the others for kustomize; it is
// not itself a resource, and is left out of a stream for kubectl apply.
const KustomizationFile = "kustomization.yaml"

type kustomizationDoc struct {
	APIVersion string   `json:"apiVersion"`
	Kind       string   `json:"kind"`
	Resources  []string `json:"resources"`
}

func kustomization(files []backends.File) (backends.File, error) {
	k := kustomizationDoc{APIVersion: "kustomize.config.k8s.io/v1beta1", Kind: "Kustomization"}
	for _, f := range files {
		k.Resources = append(k.Resources, f.Path)
	}
	slices.Sort(k.Resources)
	return file(KustomizationFile, k)
}

// componentFile names the file of one component's objects.
func componentFile(c *plan.Component) string {
	return string(c.Kind) + "-" + dnsName(c.Name) + ".yaml"
}

// instancePlan is the JSON every instance of c reads. Replicas share it:
// it says index 0.
func (e *emitter) instancePlan(c *plan.Component) (string, error) {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(e.p.Instance(c, 0)); err != nil {
		return "", err
	}
	return b.String(), nil
}
