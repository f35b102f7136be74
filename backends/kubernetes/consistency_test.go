package kubernetes

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	sigsyaml "sigs.k8s.io/yaml"

	"github.com/meshc/meshc/backends"
)

// manifest indexes one emitted set of objects by kind and name.
type manifest struct {
	configMaps      map[string]*corev1.ConfigMap
	serviceAccounts map[string]bool
	services        map[string]*corev1.Service
	workloads       map[string]workload // "Kind/name"
	autoscalers     []*autoscalingv2.HorizontalPodAutoscaler
	budgets         []*policyv1.PodDisruptionBudget
	custom          []*unstructured.Unstructured
}

type workload struct {
	meta     metav1.ObjectMeta
	selector *metav1.LabelSelector
	template corev1.PodTemplateSpec
	service  string // a StatefulSet's governing Service
}

func index(objs []runtime.Object) *manifest {
	m := &manifest{configMaps: map[string]*corev1.ConfigMap{}, serviceAccounts: map[string]bool{},
		services: map[string]*corev1.Service{}, workloads: map[string]workload{}}
	for _, o := range objs {
		switch o := o.(type) {
		case *corev1.ConfigMap:
			m.configMaps[o.Name] = o
		case *corev1.ServiceAccount:
			m.serviceAccounts[o.Name] = true
		case *corev1.Service:
			m.services[o.Name] = o
		case *appsv1.Deployment:
			m.workloads["Deployment/"+o.Name] = workload{o.ObjectMeta, o.Spec.Selector, o.Spec.Template, ""}
		case *appsv1.StatefulSet:
			m.workloads["StatefulSet/"+o.Name] = workload{o.ObjectMeta, o.Spec.Selector, o.Spec.Template, o.Spec.ServiceName}
		case *autoscalingv2.HorizontalPodAutoscaler:
			m.autoscalers = append(m.autoscalers, o)
		case *policyv1.PodDisruptionBudget:
			m.budgets = append(m.budgets, o)
		case *unstructured.Unstructured:
			m.custom = append(m.custom, o)
		}
	}
	return m
}

// consistency checks what a schema cannot: that the objects refer to each
// other correctly, and that every workload has the properties meshc
// promises (security context, probes, resources, labels, annotations).
func consistency(objs []runtime.Object) []string {
	m := index(objs)
	var out []string
	for _, key := range slices.Sorted(maps.Keys(m.workloads)) {
		w := m.workloads[key]
		fail := func(format string, args ...any) { out = append(out, key+": "+fmt.Sprintf(format, args...)) }
		sel, err := metav1.LabelSelectorAsSelector(w.selector)
		if err != nil || !sel.Matches(labels.Set(w.template.Labels)) {
			fail("selector %v does not match the template's labels", w.selector)
		}
		if w.service != "" {
			if s := m.services[w.service]; s == nil || s.Spec.ClusterIP != corev1.ClusterIPNone {
				fail("governing Service %s is missing or not headless", w.service)
			}
		}
		m.checkPod(w.template, fail)
	}
	for _, h := range m.autoscalers {
		if _, ok := m.workloads[h.Spec.ScaleTargetRef.Kind+"/"+h.Spec.ScaleTargetRef.Name]; !ok {
			out = append(out, fmt.Sprintf("HorizontalPodAutoscaler %s: no target %s/%s", h.Name, h.Spec.ScaleTargetRef.Kind, h.Spec.ScaleTargetRef.Name))
		}
	}
	for _, b := range m.budgets {
		sel, _ := metav1.LabelSelectorAsSelector(b.Spec.Selector)
		n := 0
		for _, w := range m.workloads {
			if sel.Matches(labels.Set(w.template.Labels)) {
				n++
			}
		}
		if n != 1 {
			out = append(out, fmt.Sprintf("PodDisruptionBudget %s selects %d workloads, want 1", b.Name, n))
		}
	}
	for _, u := range m.custom {
		out = append(out, m.checkFunctionMesh(u)...)
	}
	return out
}

func (m *manifest) checkPod(t corev1.PodTemplateSpec, fail func(string, ...any)) {
	for _, k := range []string{"app.kubernetes.io/name", "app.kubernetes.io/instance", "app.kubernetes.io/component",
		"app.kubernetes.io/part-of", "app.kubernetes.io/managed-by"} {
		if t.Labels[k] == "" {
			fail("pod label %s missing", k)
		}
	}
	if t.Annotations["prometheus.io/scrape"] != "true" || t.Annotations["prometheus.io/port"] == "" || t.Annotations[HashAnnotation] == "" {
		fail("pod annotations %v lack the scrape annotations or the hash", t.Annotations)
	}
	p := t.Spec
	if !m.serviceAccounts[p.ServiceAccountName] {
		fail("ServiceAccount %q is not emitted", p.ServiceAccountName)
	}
	if p.SecurityContext == nil || p.SecurityContext.RunAsNonRoot == nil || !*p.SecurityContext.RunAsNonRoot {
		fail("pod does not run as non-root")
	}
	for _, v := range p.Volumes {
		if v.ConfigMap != nil && m.configMaps[v.ConfigMap.Name] == nil {
			fail("volume %s: ConfigMap %s is not emitted", v.Name, v.ConfigMap.Name)
		}
	}
	for _, c := range p.Containers {
		checkContainer(c, fail)
		m.checkEnv(c.Env, fail)
	}
}

func checkContainer(c corev1.Container, fail func(string, ...any)) {
	sc := c.SecurityContext
	if sc == nil || !deref(sc.RunAsNonRoot) || !deref(sc.ReadOnlyRootFilesystem) || sc.AllowPrivilegeEscalation == nil ||
		*sc.AllowPrivilegeEscalation || sc.Capabilities == nil || !slices.Contains(sc.Capabilities.Drop, "ALL") {
		fail("container %s: securityContext %+v is not restrictive", c.Name, sc)
	}
	if c.LivenessProbe == nil || c.LivenessProbe.HTTPGet.Path != "/healthz" ||
		c.ReadinessProbe == nil || c.ReadinessProbe.HTTPGet.Path != "/readyz" {
		fail("container %s: probes are not /healthz and /readyz", c.Name)
	}
	for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
		req, lim := c.Resources.Requests[r], c.Resources.Limits[r]
		if req.IsZero() || lim.IsZero() || req.Cmp(lim) != 0 {
			fail("container %s: %s request %s and limit %s", c.Name, r, req.String(), lim.String())
		}
	}
}

func (m *manifest) checkEnv(env []corev1.EnvVar, fail func(string, ...any)) {
	for _, e := range env {
		if e.ValueFrom == nil || e.ValueFrom.ConfigMapKeyRef == nil {
			continue
		}
		ref := e.ValueFrom.ConfigMapKeyRef
		if cm := m.configMaps[ref.Name]; cm == nil || cm.Data[ref.Key] == "" {
			fail("env %s: ConfigMap %s has no key %s", e.Name, ref.Name, ref.Key)
		}
	}
}

// checkFunctionMesh: the members' ConfigMaps and ServiceAccount exist.
func (m *manifest) checkFunctionMesh(u *unstructured.Unstructured) []string {
	var out []string
	spec, _ := json.Marshal(u.Object["spec"])
	var fm functionMeshSpec
	if err := json.Unmarshal(spec, &fm); err != nil {
		return []string{err.Error()}
	}
	for _, f := range fm.Functions {
		fail := func(format string, args ...any) {
			out = append(out, fmt.Sprintf("FunctionMesh %s, %s: ", u.GetName(), f.Name)+fmt.Sprintf(format, args...))
		}
		if m.configMaps[f.Pulsar.PulsarConfig] == nil {
			fail("pulsarConfig %s is not emitted", f.Pulsar.PulsarConfig)
		}
		if !m.serviceAccounts[f.Pod.ServiceAccountName] {
			fail("ServiceAccount %q is not emitted", f.Pod.ServiceAccountName)
		}
		for _, v := range f.Pod.Volumes {
			if v.ConfigMap != nil && m.configMaps[v.ConfigMap.Name] == nil {
				fail("volume %s: ConfigMap %s is not emitted", v.Name, v.ConfigMap.Name)
			}
		}
		m.checkEnv(f.Pod.Env, fail)
	}
	return out
}

func deref(b *bool) bool { return b != nil && *b }

// checkKustomization: kustomization.yaml lists every other file, strictly
// in kustomize's format as far as meshc writes it: the configuration file
// among configurations, the rest among resources.
func checkKustomization(t *testing.T, files []backends.File) {
	t.Helper()
	var k kustomizationDoc
	var others, configs []string
	for _, f := range files {
		switch f.Path {
		case KustomizationFile:
			if err := sigsyaml.UnmarshalStrict(f.Data, &k); err != nil {
				t.Fatalf("%s: %v", f.Path, err)
			}
		case KustomizeConfigFile:
			configs = append(configs, f.Path)
		default:
			others = append(others, f.Path)
		}
	}
	if k.APIVersion != "kustomize.config.k8s.io/v1beta1" || k.Kind != "Kustomization" || !slices.Equal(k.Resources, others) || !slices.Equal(k.Configurations, configs) {
		t.Errorf("kustomization %+v does not list %v", k, others)
	}
}
