package kubernetes

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/meshc/meshc/backends"
	"github.com/meshc/meshc/planner/plan"
)

// Where instances find their plan inside the container.
const (
	planDir  = "/etc/meshc"
	planKey  = "instance.json"
	planPath = planDir + "/" + planKey
)

// Resources an instance gets when the mesh sets none.
const (
	defaultCPU    = 0.1       // cores
	defaultMemory = 128 << 20 // bytes
)

// HashAnnotation on a pod template carries the component's hash: it
// changes only with what instances do, so a change of replicas alone
// restarts no pod, and any other change rolls them all.
const HashAnnotation = "meshc.io/component-hash"

// nonRootUser is the uid instances run as (the distroless "nonroot" user).
const nonRootUser = 65532

// plain writes a ServiceAccount for the mesh and, per component, its
// instance plan, workload, autoscaler and disruption budget. A
// component's file is made as it is written, one at a time: the files of
// a large mesh are never held at once. What could fail in making one is
// checked here, before any is written.
func (e *emitter) plain() ([]backends.File, error) {
	sa, err := e.file("serviceaccount.yaml", e.serviceAccount())
	if err != nil {
		return nil, err
	}
	files := make([]backends.File, 1, len(e.p.Components)+1)
	files[0] = sa
	for i := range e.p.Components {
		f, err := e.componentFile(&e.p.Components[i])
		if err != nil {
			return nil, err
		}
		files = append(files, f)
	}
	return files, nil
}

// componentFile is the file of c's objects, made as it is written.
func (e *emitter) componentFile(c *plan.Component) (backends.File, error) {
	if err := e.checkComponent(c); err != nil {
		return backends.File{}, err
	}
	return backends.File{Path: componentPath(c), Write: func(w io.Writer) error { return e.writeComponent(w, c) }}, nil
}

// checkComponent returns the error making c's objects would: what the
// compiler admits never raises one, but a plan written by hand may.
func (e *emitter) checkComponent(c *plan.Component) error {
	if err := e.checkPod(c); err != nil {
		return err
	}
	if autoscaled(c) {
		return checkAutoscaler(c)
	}
	return nil
}

// checkPod returns the error making the pod of c's instances would, in
// either flavour: its secrets' environment and its resources.
func (e *emitter) checkPod(c *plan.Component) error {
	if _, err := secretEnv(c); err != nil {
		return err
	}
	_, err := e.resources(c)
	return err
}

// writeComponent writes one component's objects, as one file, to w.
func (e *emitter) writeComponent(w io.Writer, c *plan.Component) error {
	// Its objects share its labels and selector.
	labels, selector := e.labels(c), e.selector(c)
	e.shared.add(labels, selector)
	defer e.shared.remove(labels, selector)
	objs, err := e.componentObjects(c)
	if err != nil {
		return err
	}
	path := componentPath(c)
	if e.fileText, err = yamlEncoder(e.fileText[:0], e.shared, objs...); err != nil {
		return fmt.Errorf("encoding %s: %w", path, err)
	}
	_, err = w.Write(e.fileText)
	return err
}

// componentObjects builds the objects of c, in the order of its file.
func (e *emitter) componentObjects(c *plan.Component) ([]any, error) {
	cm, err := e.configMap(c, "")
	if err != nil {
		return nil, err
	}
	tmpl, err := e.podTemplate(c, cm.Name)
	if err != nil {
		return nil, err
	}
	objs := append(e.objects.list[:0], cm)
	if stableIdentity(c) {
		objs = append(objs, e.headlessService(c), e.statefulSet(c, tmpl))
	} else {
		objs = append(objs, e.deployment(c, tmpl))
	}
	if autoscaled(c) {
		hpa, err := e.autoscaler(c)
		if err != nil {
			return nil, err
		}
		objs = append(objs, hpa)
	}
	objs = append(objs, e.disruptionBudget(c))
	e.objects.list = objs
	return objs, nil
}

// componentObjects are the objects of one component, kept from one
// component to the next and built anew in place: besides the text, they
// were most of what an emit allocated, and the collector's work grew with
// them. Each is written out before the next component's are built, as
// the text of an instance plan is (see instancePlan); the objects of a
// FunctionMesh's members, which stay until the whole mesh is written, are
// not among them.
type componentObjects struct {
	configMap   corev1.ConfigMap
	deployment  appsv1.Deployment
	statefulSet appsv1.StatefulSet
	service     corev1.Service
	autoscaler  autoscalingv2.HorizontalPodAutoscaler
	budget      policyv1.PodDisruptionBudget
	// The maps and lists they hold of their own.
	planLabels, data, annotations map[string]string
	volumes                       []corev1.Volume
	list                          []any // the objects of the file
}

// cleared is m emptied, or a new map when m is nil.
func cleared(m map[string]string, size int) map[string]string {
	if m == nil {
		return make(map[string]string, size)
	}
	clear(m)
	return m
}

// stableIdentity says whether c runs as a StatefulSet: instances that hold
// an exclusive or failover subscription, promise effectively-once, or keep
// state must never overlap with their own replacement, which a
// StatefulSet guarantees (a pod is replaced only once it is gone) and a
// Deployment's surge does not.
func stableIdentity(c *plan.Component) bool {
	switch c.Subscription.Type {
	case "exclusive", "failover":
		return true
	}
	return c.Guarantee == plan.EffectivelyOnce || c.State
}

func autoscaled(c *plan.Component) bool { return c.Replicas.Max > 0 }

// labels are the app.kubernetes.io labels of c's objects; selector is the
// part of them that picks its pods.
// The maps they return are shared by c's objects and not changed while
// c's are built (the next component's are built in them);
// objects with labels of their own start from addLabels.
func (e *emitter) labels(c *plan.Component) map[string]string {
	cp := e.component(c)
	if !cp.labelled {
		cp.labels, cp.labelled = e.addLabels(c, cleared(cp.labels, labelCount)), true
	}
	return cp.labels
}

func (e *emitter) selector(c *plan.Component) map[string]string {
	cp := e.component(c)
	if !cp.selected {
		cp.selector, cp.selected = e.addSelector(c, cleared(cp.selector, len(selectorLabels))), true
	}
	return cp.selector
}

// labelCount is how many labels an object has at most.
const labelCount = 8

// addLabels adds labels(c) to l, and returns it.
func (e *emitter) addLabels(c *plan.Component, l map[string]string) map[string]string {
	e.addMeshLabels(l)
	e.addSelector(c, l)
	l[componentLabel] = string(c.Kind)
	return l
}

// selectorLabels are the labels of selector, in the order addSelector
// gives their values.
var selectorLabels = [...]string{nameLabel, instanceLabel}

func (e *emitter) addSelector(c *plan.Component, l map[string]string) map[string]string {
	for i, v := range [len(selectorLabels)]string{e.component(c).name, e.names[c.Name]} {
		l[selectorLabels[i]] = v
	}
	return l
}

// componentParts are what the objects of one component share, each
// built on first use.
type componentParts struct {
	c                  *plan.Component
	name               string // dnsName(c.Name)
	labels, selector   map[string]string
	labelled, selected bool // whether labels and selector are c's
}

// component is c's componentParts: a component's objects are built one
// after the other.
// Its label maps are kept for the next component, as componentObjects
// are.
func (e *emitter) component(c *plan.Component) *componentParts {
	if e.current.c != c {
		e.current = componentParts{c: c, name: dnsName(c.Name), labels: e.current.labels, selector: e.current.selector}
	}
	return &e.current
}

func (e *emitter) meta(c *plan.Component) metav1.ObjectMeta {
	return e.objectMeta(e.names[c.Name], e.labels(c))
}

func (e *emitter) serviceAccount() *corev1.ServiceAccount {
	return &corev1.ServiceAccount{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "ServiceAccount"},
		ObjectMeta: e.objectMeta(e.mesh, e.meshLabels()),
		// Instances never call the Kubernetes API.
		AutomountServiceAccountToken: ptr(false),
	}
}

// configMap holds c's instance plan under a name that ends in a hash of
// it, and is immutable: a changed plan is a new ConfigMap, which changes
// the pod template and so rolls the pods; a rollback's template names
// the plan it ran with, which is still there; and a pod of the old
// template that restarts mid-rollout still reads its own plan.
//
// name, when set, is the name that the plan's text was found to have
// before: it is not worked out again.
func (e *emitter) configMap(c *plan.Component, name string) (*corev1.ConfigMap, error) {
	text, err := e.instancePlan(c)
	if err != nil {
		return nil, fmt.Errorf("%s %s: encoding its instance plan: %w", c.Kind, c.Name, err)
	}
	o := &e.objects
	o.data = cleared(o.data, 1)
	o.data[planKey] = text
	o.planLabels = e.addLabels(c, cleared(o.planLabels, labelCount))
	o.planLabels[PlanOfLabel] = e.component(c).name
	if name == "" {
		name = e.planName(e.names[c.Name], o.data)
	}
	o.configMap = corev1.ConfigMap{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"},
		ObjectMeta: e.objectMeta(name, o.planLabels),
		Immutable:  e.parts.yes,
		Data:       o.data,
	}
	return &o.configMap, nil
}

// planHashLen is how many hex digits of its data's SHA-256 a plan's
// ConfigMap name ends in: 40 bits, enough that two plans of one component
// do not meet by chance.
const planHashLen = 10

// planName is NAME-plan-HASH, HASH a digest of data: the same plan gives
// the same name, and any change of it another. NAME has at most 52
// characters, so the whole fits the 253 of a ConfigMap name.
func (e *emitter) planName(name string, data map[string]string) string {
	if e.planHash == nil {
		e.planHash = sha256.New()
	}
	h := e.planHash
	h.Reset()
	keys := slices.AppendSeq(make([]string, 0, 1), maps.Keys(data)) // no allocation for one plan
	slices.Sort(keys)
	for _, k := range keys {
		// NUL ends each key and value, so no two maps hash alike.
		for _, text := range []string{k, data[k]} {
			// Copied into a buffer of the emitter's: a conversion
			// would allocate a copy of each plan.
			e.hashText = append(append(e.hashText[:0], text...), 0)
			h.Write(e.hashText)
		}
	}
	var sum [sha256.Size]byte
	var digits [2 * sha256.Size]byte
	hex.Encode(digits[:], h.Sum(sum[:0]))
	return name + "-plan-" + string(digits[:planHashLen])
}

// podTemplate is the pod every instance of c runs in; planMap names the
// ConfigMap of its plan.
func (e *emitter) podTemplate(c *plan.Component, planMap string) (corev1.PodTemplateSpec, error) {
	containers, err := e.containers(c)
	if err != nil {
		return corev1.PodTemplateSpec{}, err
	}
	o := &e.objects
	o.volumes = append(o.volumes[:0], corev1.Volume{
		Name: "plan", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
			LocalObjectReference: corev1.LocalObjectReference{Name: planMap},
		}},
	})
	o.volumes = append(o.volumes, e.parts.volumes...)
	o.annotations = e.addPodAnnotations(c, cleared(o.annotations, podAnnotationCount))
	return corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: e.labels(c), Annotations: o.annotations},
		Spec: corev1.PodSpec{
			ServiceAccountName:           e.mesh,
			AutomountServiceAccountToken: e.parts.no,
			SecurityContext:              e.parts.podSecurity,
			Containers:                   containers,
			Volumes:                      o.volumes,
		},
	}, nil
}

// meshParts are the parts of objects that every component's objects hold
// alike, built once per Emit; objects share them, so nothing changes
// them once built, and their slices are clipped so that an append copies.
type meshParts struct {
	yes, no     *bool
	podSecurity *corev1.PodSecurityContext
	security    *corev1.SecurityContext
	// The probes of the runtime's /healthz and /readyz.
	startup, liveness, readiness *corev1.Probe
	ports                        []corev1.ContainerPort
	// The volumes and mounts of a pod besides its plan's.
	volumes []corev1.Volume
	mounts  []corev1.VolumeMount
	// The environment of every pod (see env).
	env       []corev1.EnvVar
	resources map[resourceKey]corev1.ResourceRequirements
	// The containers of components that run alike (see containers).
	containers map[containerKey][]corev1.Container
	// A Deployment's rollout, a disruption budget's one pod, an
	// autoscaler's CPU target.
	rollingUpdate  *appsv1.RollingUpdateDeployment
	maxUnavailable *intstr.IntOrString
	cpuMetrics     []autoscalingv2.MetricSpec
	// A FunctionMesh member's mount of its plan, its bound on pending
	// requests, the ConfigMap of Pulsar's addresses, and its Go runtimes.
	planMounts   []corev1.VolumeMount
	maxPending   *int32
	pulsarConfig string
	goRuntimes   map[string]*fmGoRuntime
	// A FunctionMesh member pod's environment and labels (see
	// memberLabels).
	memberEnv    []corev1.EnvVar
	memberLabels map[plan.Kind]map[string]string
}

// buildParts makes e.parts.
func (e *emitter) buildParts() {
	e.parts = meshParts{
		yes: ptr(true), no: ptr(false),
		// A new pod starts before an old one stops: no capacity is
		// lost during a rollout.
		rollingUpdate: &appsv1.RollingUpdateDeployment{
			MaxUnavailable: ptr(intstr.FromInt32(0)),
			MaxSurge:       ptr(intstr.FromInt32(1)),
		},
		maxUnavailable: ptr(intstr.FromInt32(1)),
		cpuMetrics: []autoscalingv2.MetricSpec{{
			Type: autoscalingv2.ResourceMetricSourceType,
			Resource: &autoscalingv2.ResourceMetricSource{
				Name:   corev1.ResourceCPU,
				Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: ptr(int32(80))},
			},
		}},
		planMounts:   []corev1.VolumeMount{{Name: "plan", MountPath: planDir, ReadOnly: true}},
		maxPending:   ptr(int32(operatorMaxPending)),
		pulsarConfig: e.pulsarConfigName(),
		goRuntimes:   map[string]*fmGoRuntime{},
		memberEnv: []corev1.EnvVar{
			{Name: "MESHC_INSTANCE_PLAN_FILE", Value: planPath},
			{Name: "MESHC_LISTEN", Value: ":" + operatorMetricsPortText},
		},
		memberLabels: map[plan.Kind]map[string]string{},
		podSecurity: &corev1.PodSecurityContext{
			RunAsNonRoot:   ptr(true),
			RunAsUser:      ptr(int64(nonRootUser)),
			RunAsGroup:     ptr(int64(nonRootUser)),
			SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
		},
		security: &corev1.SecurityContext{
			RunAsNonRoot:             ptr(true),
			ReadOnlyRootFilesystem:   ptr(true),
			AllowPrivilegeEscalation: ptr(false),
			Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
		},
		// The runtime serves /healthz and /readyz once it is connected to
		// Pulsar: the startup probe allows two minutes for that.
		startup:   probe("/healthz", 2, 60),
		liveness:  probe("/healthz", 10, 3),
		readiness: probe("/readyz", 5, 2),
		ports:     []corev1.ContainerPort{{Name: "metrics", ContainerPort: MetricsPort, Protocol: corev1.ProtocolTCP}},
		volumes: []corev1.Volume{
			// The root file system is read-only; /tmp is the one
			// writable place.
			{Name: "tmp", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{
				SizeLimit: ptr(resource.MustParse("64Mi")),
			}}},
		},
		mounts: []corev1.VolumeMount{
			{Name: "plan", MountPath: planDir, ReadOnly: true},
			{Name: "tmp", MountPath: "/tmp"},
		},
		env: append([]corev1.EnvVar{
			{Name: "MESHC_LISTEN", Value: ":" + strconv.Itoa(MetricsPort)},
			{Name: "MESHC_PULSAR_URL", Value: e.o.PulsarURL},
		}, e.pulsarEnv...),
		resources:  map[resourceKey]corev1.ResourceRequirements{},
		containers: map[containerKey][]corev1.Container{},
	}
	if e.pulsarVolume != nil {
		e.parts.volumes = append(e.parts.volumes, *e.pulsarVolume)
		e.parts.mounts = append(e.parts.mounts, corev1.VolumeMount{Name: pulsarVolume, MountPath: pulsarDir, ReadOnly: true})
	}
	e.parts.volumes = slices.Clip(e.parts.volumes)
	e.parts.mounts = slices.Clip(e.parts.mounts)
	e.parts.env = slices.Clip(e.parts.env)
	e.parts.memberEnv = slices.Clip(e.parts.memberEnv)
	// The text a quantity writes is worked out once and kept in it.
	_ = e.parts.volumes[0].EmptyDir.SizeLimit.String()
	e.shared = newSharedTexts()
	pp := &e.parts
	e.shared.add(pp.podSecurity, pp.security, pp.startup, pp.liveness, pp.readiness, pp.ports, pp.mounts, pp.env,
		pp.rollingUpdate, pp.maxUnavailable, pp.cpuMetrics, pp.planMounts, pp.memberEnv)
	for _, v := range pp.volumes {
		e.shared.add(v.EmptyDir, v.Projected)
	}
}

// addPodAnnotations adds the annotations of c's pods to m, and returns it.
func (e *emitter) addPodAnnotations(c *plan.Component, m map[string]string) map[string]string {
	m["prometheus.io/scrape"] = "true"
	m["prometheus.io/port"] = metricsPortText
	m["prometheus.io/path"] = "/metrics"
	m[HashAnnotation] = c.Hash
	return m
}

// podAnnotationCount is how many annotations a pod has.
const podAnnotationCount = 4

// containers is the list of c's one container. Components whose
// containers differ in nothing share one list, which is written once;
// only those with secrets or arguments of their own get one each.
func (e *emitter) containers(c *plan.Component) ([]corev1.Container, error) {
	key := containerKey{image: e.image(c), binary: e.binary(c), stateful: stableIdentity(c), cpu: c.Resources.CPU, memory: c.Resources.Memory}
	alike := len(c.Secrets) == 0 && len(c.Runtime.Args) == 0
	if list, ok := e.parts.containers[key]; ok && alike {
		return list, nil
	}
	ctr, err := e.container(c)
	if err != nil {
		return nil, err
	}
	list := []corev1.Container{ctr}
	if alike {
		e.parts.containers[key] = list
		e.shared.add(list)
	}
	return list, nil
}

// containerKey is what a container without secrets or arguments is made
// of.
type containerKey struct {
	image, binary string
	stateful      bool
	cpu           float64
	memory        int64
}

// container runs the instance binary on the plan file mounted from the
// ConfigMap (a file, not $MESHC_INSTANCE_PLAN: one environment variable
// holds at most 128 KiB, and plans with schemas grow).
func (e *emitter) container(c *plan.Component) (corev1.Container, error) {
	env, err := e.env(c)
	if err != nil {
		return corev1.Container{}, err
	}
	res, err := e.resources(c)
	if err != nil {
		return corev1.Container{}, err
	}
	return corev1.Container{
		Name:            "instance",
		Image:           e.image(c),
		ImagePullPolicy: corev1.PullIfNotPresent,
		Command:         []string{e.binary(c)},
		Args:            append([]string{"-plan", planPath}, c.Runtime.Args...),
		Env:             env,
		Ports:           e.parts.ports,
		Resources:       res,
		VolumeMounts:    e.parts.mounts,
		StartupProbe:    e.parts.startup,
		LivenessProbe:   e.parts.liveness,
		ReadinessProbe:  e.parts.readiness,
		SecurityContext: e.parts.security,
	}, nil
}

func probe(path string, period, failures int32) *corev1.Probe {
	return &corev1.Probe{
		ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{
			Path: path, Port: intstr.FromString("metrics"),
		}},
		PeriodSeconds:    period,
		FailureThreshold: failures,
	}
}

func (e *emitter) image(c *plan.Component) string {
	switch {
	case e.o.Image != "":
		return e.o.Image
	case c.Runtime.Image != "":
		return c.Runtime.Image
	}
	return DefaultImage
}

func (e *emitter) binary(c *plan.Component) string {
	switch {
	case e.o.Binary != "":
		return e.o.Binary
	case c.Runtime.Binary != "":
		return c.Runtime.Binary
	}
	return "meshrt"
}

// env is what the runtime reads besides its plan: where Pulsar is and how
// to reach it (pulsarAccess), where to serve metrics and probes, and each
// secret as MESHC_SECRET_<NAME>
// from the Kubernetes Secret its reference names.
func (e *emitter) env(c *plan.Component) ([]corev1.EnvVar, error) {
	env := e.parts.env
	if stableIdentity(c) {
		// A StatefulSet's pods share one plan; each learns its replica
		// index from the pod-index label Kubernetes gives it.
		env = append(env, corev1.EnvVar{Name: "MESHC_INSTANCE_INDEX", ValueFrom: &corev1.EnvVarSource{
			FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.labels['apps.kubernetes.io/pod-index']"},
		}})
	}
	secrets, err := secretEnv(c)
	if err != nil {
		return nil, err
	}
	return append(env, secrets...), nil
}

// secretEnv refers to each secret of c; on Kubernetes secret("PATH",
// "KEY") names the Secret SecretName(PATH) in the namespace and a key in
// it. The compiler admits only paths and keys that every backend can
// hold; these checks keep a plan written by hand from reaching the API
// server.
func secretEnv(c *plan.Component) ([]corev1.EnvVar, error) {
	if len(c.Secrets) == 0 {
		return nil, nil // most components: no sorting of no keys, which allocates
	}
	var env []corev1.EnvVar
	var errs []error
	for _, name := range slices.Sorted(maps.Keys(c.Secrets)) {
		s := c.Secrets[name]
		secret := SecretName(s.Path)
		if bad := validation.IsDNS1123Subdomain(secret); len(bad) > 0 {
			errs = append(errs, backends.Meshf(string(c.Kind), c.Name, "secrets."+name, "secret %s: %q names the Kubernetes Secret %q, which is invalid: %s",
				name, s.Path, secret, strings.Join(bad, "; ")))
		}
		if bad := validation.IsConfigMapKey(s.Key); len(bad) > 0 {
			errs = append(errs, backends.Meshf(string(c.Kind), c.Name, "secrets."+name, "secret %s: %q is not a valid key of a Kubernetes Secret: %s",
				name, s.Key, strings.Join(bad, "; ")))
		}
		env = append(env, corev1.EnvVar{Name: SecretEnv(name), ValueFrom: &corev1.EnvVarSource{
			SecretKeyRef: &corev1.SecretKeySelector{
				LocalObjectReference: corev1.LocalObjectReference{Name: secret}, Key: s.Key,
			},
		}})
	}
	return env, errors.Join(errs...)
}

// SecretName is the Kubernetes Secret that secret("PATH", "KEY") names:
// PATH with each '/' made '.' and each '_' made '-', so that "shop/my_api"
// is the Secret "shop.my-api" and one mesh reads its secrets on every
// backend.
func SecretName(path string) string { return secretNamer.Replace(path) }

var secretNamer = strings.NewReplacer("/", ".", "_", "-")

// SecretEnv is the environment variable the runtime reads secret name from.
func SecretEnv(name string) string { return "MESHC_SECRET_" + strings.ToUpper(name) }

// resources asks for the plan's CPU and memory, or the defaults, and sets
// the limits equal to the requests: instances get the Guaranteed QoS class
// and the autoscaler's utilisation is measured against what they have.
func (e *emitter) resources(c *plan.Component) (corev1.ResourceRequirements, error) {
	cpu, mem := c.Resources.CPU, c.Resources.Memory
	if cpu == 0 {
		cpu = defaultCPU
	}
	if mem == 0 {
		mem = defaultMemory
	}
	if cpu < 0 || mem < 0 || math.IsNaN(cpu) || math.IsInf(cpu, 0) {
		return corev1.ResourceRequirements{}, backends.Meshf(string(c.Kind), c.Name, "", "cpu and memory must be above zero")
	}
	key := resourceKey{milliCPU: max(int64(math.Ceil(cpu*1000)), 1), memory: mem}
	if res, ok := e.parts.resources[key]; ok {
		return res, nil
	}
	cpuQ, memQ := resource.NewMilliQuantity(key.milliCPU, resource.DecimalSI), resource.NewQuantity(key.memory, resource.BinarySI)
	// String keeps the text it works out, which the objects that share
	// these quantities then write without working it out again.
	_, _ = cpuQ.String(), memQ.String()
	list := corev1.ResourceList{corev1.ResourceCPU: *cpuQ, corev1.ResourceMemory: *memQ}
	res := corev1.ResourceRequirements{Requests: list, Limits: list.DeepCopy()}
	e.parts.resources[key] = res
	e.shared.add(res.Requests, res.Limits)
	return res, nil
}

// resourceKey is what resources asks for: objects asking alike share one
// ResourceRequirements.
type resourceKey struct{ milliCPU, memory int64 }

// replicas is the fixed count, or nil when an autoscaler owns the count
// (so that applying the manifest again does not undo its work).
func replicas(c *plan.Component) *int32 {
	if autoscaled(c) {
		return nil
	}
	return ptr(int32(c.Replicas.Count))
}

func (e *emitter) deployment(c *plan.Component, tmpl corev1.PodTemplateSpec) *appsv1.Deployment {
	d := &e.objects.deployment
	*d = appsv1.Deployment{
		TypeMeta:   metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"},
		ObjectMeta: e.meta(c),
		Spec: appsv1.DeploymentSpec{
			Replicas: replicas(c),
			Selector: &metav1.LabelSelector{MatchLabels: e.selector(c)},
			Template: tmpl,
			// A new pod starts before an old one stops: no capacity is
			// lost during a rollout.
			Strategy: appsv1.DeploymentStrategy{
				Type:          appsv1.RollingUpdateDeploymentStrategyType,
				RollingUpdate: e.parts.rollingUpdate,
			},
		},
	}
	return d
}

// headlessService gives a StatefulSet's pods their stable DNS names.
func (e *emitter) headlessService(c *plan.Component) *corev1.Service {
	s := &e.objects.service
	*s = corev1.Service{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Service"},
		ObjectMeta: e.meta(c),
		Spec: corev1.ServiceSpec{
			ClusterIP: corev1.ClusterIPNone,
			Selector:  e.selector(c),
			Ports: []corev1.ServicePort{{
				Name: "metrics", Port: MetricsPort, TargetPort: intstr.FromString("metrics"), Protocol: corev1.ProtocolTCP,
			}},
			PublishNotReadyAddresses: true,
		},
	}
	return s
}

func (e *emitter) statefulSet(c *plan.Component, tmpl corev1.PodTemplateSpec) *appsv1.StatefulSet {
	s := &e.objects.statefulSet
	*s = appsv1.StatefulSet{
		TypeMeta:   metav1.TypeMeta{APIVersion: "apps/v1", Kind: "StatefulSet"},
		ObjectMeta: e.meta(c),
		Spec: appsv1.StatefulSetSpec{
			Replicas:    replicas(c),
			Selector:    &metav1.LabelSelector{MatchLabels: e.selector(c)},
			Template:    tmpl,
			ServiceName: e.names[c.Name],
			// Scaling starts and stops pods at once; updates still
			// replace one pod at a time, each only after it is gone.
			PodManagementPolicy: appsv1.ParallelPodManagement,
			UpdateStrategy:      appsv1.StatefulSetUpdateStrategy{Type: appsv1.RollingUpdateStatefulSetStrategyType},
		},
	}
	return s
}

// autoscaler scales c between its bounds on CPU use, measured against the
// requests.
func (e *emitter) autoscaler(c *plan.Component) (*autoscalingv2.HorizontalPodAutoscaler, error) {
	if err := checkAutoscaler(c); err != nil {
		return nil, err
	}
	kind := "Deployment"
	if stableIdentity(c) {
		kind = "StatefulSet"
	}
	a := &e.objects.autoscaler
	*a = autoscalingv2.HorizontalPodAutoscaler{
		TypeMeta:   metav1.TypeMeta{APIVersion: "autoscaling/v2", Kind: "HorizontalPodAutoscaler"},
		ObjectMeta: e.meta(c),
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: kind, Name: e.names[c.Name]},
			MinReplicas:    ptr(int32(c.Replicas.Min)),
			MaxReplicas:    int32(c.Replicas.Max),
			Metrics:        e.parts.cpuMetrics,
		},
	}
	return a, nil
}

// checkAutoscaler refuses bounds a HorizontalPodAutoscaler cannot keep.
func checkAutoscaler(c *plan.Component) error {
	if c.Replicas.Min < 1 {
		return backends.Meshf(string(c.Kind), c.Name, "min_replicas", "min_replicas %d: the HorizontalPodAutoscaler scales down to 1 at least; set min_replicas = 1 or more",
			c.Replicas.Min)
	}
	return nil
}

// disruptionBudget lets node drains take one instance of c at a time.
func (e *emitter) disruptionBudget(c *plan.Component) *policyv1.PodDisruptionBudget {
	b := &e.objects.budget
	*b = policyv1.PodDisruptionBudget{
		TypeMeta:   metav1.TypeMeta{APIVersion: "policy/v1", Kind: "PodDisruptionBudget"},
		ObjectMeta: e.meta(c),
		Spec: policyv1.PodDisruptionBudgetSpec{
			MaxUnavailable: e.parts.maxUnavailable,
			Selector:       &metav1.LabelSelector{MatchLabels: e.selector(c)},
		},
	}
	return b
}

func ptr[T any](v T) *T { return &v }
