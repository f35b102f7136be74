package kubernetes

import (
	"bytes"
	"fmt"
	"io"
	"net/url"
	"path"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/meshc/meshc/backends"
	"github.com/meshc/meshc/backends/image"
	"github.com/meshc/meshc/planner/plan"
)

// The Function Mesh operator's API, as far as meshc writes it. Field names
// follow the operator's CRDs (compute.functionmesh.io/v1alpha1, v0.27.2).
const functionMeshAPIVersion = "compute.functionmesh.io/v1alpha1"

// MaxOperatorName is the longest name the operator's webhook accepts; it
// names each member of a FunctionMesh MESH-MEMBER.
const MaxOperatorName = 43

type functionMeshObject struct {
	metav1.TypeMeta `json:",inline"`
	Metadata        metav1.ObjectMeta `json:"metadata"`
	Spec            functionMeshSpec  `json:"spec"`
}

type functionMeshSpec struct {
	Functions []fmFunction `json:"functions,omitempty"`
}

type fmFunction struct {
	Name                 string                      `json:"name"`
	Image                string                      `json:"image"`
	ImagePullPolicy      corev1.PullPolicy           `json:"imagePullPolicy,omitempty"`
	Tenant               string                      `json:"tenant"`
	Namespace            string                      `json:"namespace"`
	ClusterName          string                      `json:"clusterName"`
	Replicas             *int32                      `json:"replicas,omitempty"`
	MinReplicas          *int32                      `json:"minReplicas,omitempty"`
	MaxReplicas          *int32                      `json:"maxReplicas,omitempty"`
	Input                fmInput                     `json:"input"`
	Output               *fmOutput                   `json:"output,omitempty"`
	LogTopic             string                      `json:"logTopic,omitempty"`
	LogTopicAgent        string                      `json:"logTopicAgent,omitempty"`
	DeadLetterTopic      string                      `json:"deadLetterTopic,omitempty"`
	MaxMessageRetry      int32                       `json:"maxMessageRetry,omitempty"`
	Timeout              int32                       `json:"timeout,omitempty"` // milliseconds
	ProcessingGuarantee  string                      `json:"processingGuarantee,omitempty"`
	SubscriptionName     string                      `json:"subscriptionName,omitempty"`
	SubscriptionPosition string                      `json:"subscriptionPosition,omitempty"`
	RetainOrdering       bool                        `json:"retainOrdering,omitempty"`
	AutoAck              *bool                       `json:"autoAck"`
	MaxPendingAsync      *int32                      `json:"maxPendingAsyncRequests"`
	ForwardProperties    *bool                       `json:"forwardSourceMessageProperty"`
	SecretsMap           map[string]fmSecretRef      `json:"secretsMap,omitempty"`
	Resources            corev1.ResourceRequirements `json:"resources"`
	Golang               *fmGoRuntime                `json:"golang"`
	Pulsar               fmPulsar                    `json:"pulsar"`
	Pod                  fmPod                       `json:"pod"`
	VolumeMounts         []corev1.VolumeMount        `json:"volumeMounts,omitempty"`
}

type fmInput struct {
	TypeClassName string                      `json:"typeClassName"`
	Topics        []string                    `json:"topics,omitempty"`
	TopicPattern  string                      `json:"topicPattern,omitempty"`
	SourceSpecs   map[string]fmConsumerConfig `json:"sourceSpecs,omitempty"`
}

type fmConsumerConfig struct {
	SchemaType     string `json:"schemaType"`
	IsRegexPattern bool   `json:"isRegexPattern,omitempty"`
}

type fmOutput struct {
	TypeClassName  string `json:"typeClassName"`
	Topic          string `json:"topic,omitempty"`
	SinkSchemaType string `json:"sinkSchemaType,omitempty"`
}

type fmSecretRef struct {
	Path string `json:"path"`
	Key  string `json:"key"`
}

type fmGoRuntime struct {
	Go string `json:"go"`
}

type fmPulsar struct {
	PulsarConfig string        `json:"pulsarConfig"`
	TLSConfig    *fmTLSConfig  `json:"tlsConfig,omitempty"`
	AuthConfig   *fmAuthConfig `json:"authConfig,omitempty"`
}

type fmTLSConfig struct {
	Enabled              bool   `json:"enabled"`
	AllowInsecure        bool   `json:"allowInsecure,omitempty"`
	HostnameVerification bool   `json:"hostnameVerification,omitempty"`
	CertSecretName       string `json:"certSecretName,omitempty"`
	CertSecretKey        string `json:"certSecretKey,omitempty"`
}

type fmAuthConfig struct {
	OAuth2Config *fmOAuth2Config `json:"oauth2Config,omitempty"`
}

type fmOAuth2Config struct {
	Audience      string `json:"audience"`
	IssuerURL     string `json:"issuerUrl"`
	Scope         string `json:"scope,omitempty"`
	KeySecretName string `json:"keySecretName"`
	KeySecretKey  string `json:"keySecretKey"`
}

type fmPod struct {
	Labels             map[string]string          `json:"labels,omitempty"`
	Annotations        map[string]string          `json:"annotations,omitempty"`
	ServiceAccountName string                     `json:"serviceAccountName,omitempty"`
	SecurityContext    *corev1.PodSecurityContext `json:"securityContext,omitempty"`
	Env                []corev1.EnvVar            `json:"env,omitempty"`
	Volumes            []corev1.Volume            `json:"volumes,omitempty"`
}

// functionMesh writes the mesh as one FunctionMesh whose members are the
// functions and sinks, each a Go function of the operator running the
// meshc runtime. The operator runs Go code only as functions, and a
// function needs an input, so sources run as plain workloads beside it.
// The FunctionMesh and the members' plans are made as they are written,
// a few members at a time: a mesh of thousands of functions is never held
// whole, as objects or as text. What could fail in making them is checked
// here, before anything is written.
func (e *emitter) functionMesh() ([]backends.File, error) {
	members := countMembers(e.p)
	fm := &fmFile{e: e, members: make([]*plan.Component, 0, members)}
	var files []backends.File
	for i := range e.p.Components {
		c := &e.p.Components[i]
		if c.Kind == plan.Source {
			f, err := e.componentFile(c)
			if err != nil {
				return nil, err
			}
			files = append(files, f)
			continue
		}
		if err := e.checkMember(c); err != nil {
			return nil, err
		}
		fm.members = append(fm.members, c)
	}
	fm.planMaps = make([]string, len(fm.members))
	pulsar, err := e.pulsarConfig()
	if err != nil {
		return nil, err
	}
	for _, f := range []struct {
		path string
		objs []any
	}{
		{"serviceaccount.yaml", []any{e.serviceAccount()}},
		{"pulsar.yaml", []any{pulsar}},
		{KustomizeConfigFile, []any{kustomizeReferences()}},
	} {
		out, err := e.file(f.path, f.objs...)
		if err != nil {
			return nil, err
		}
		files = append(files, out)
	}
	files = append(files, backends.File{Path: functionMeshFile, Write: fm.writeMesh})
	if len(fm.members) > 0 {
		files = append(files, backends.File{Path: plansFile, Write: fm.writePlans})
	}
	return files, nil
}

// The files of the FunctionMesh and of its members' plans.
const (
	functionMeshFile = "functionmesh.yaml"
	plansFile        = "instance-plans.yaml"
)

// fmFile makes the FunctionMesh and its members' plans as they are
// written.
type fmFile struct {
	e       *emitter
	members []*plan.Component // the functions and sinks
	// planMaps are the names of their plans' ConfigMaps, each named
	// after its text: made by the first of the two files written (the
	// plans come first in Emit's order, so their text is made once).
	planMaps []string
}

// planMap is the name of member i's plan's ConfigMap.
func (f *fmFile) planMap(i int) (string, error) {
	if f.planMaps[i] == "" {
		cm, err := f.e.configMap(f.members[i], "")
		if err != nil {
			return "", err
		}
		f.planMaps[i] = cm.Name
	}
	return f.planMaps[i], nil
}

// membersAtOnce is how many members are built and written at a time.
var membersAtOnce = 64

// functionsKey is the text after which a FunctionMesh lists its members:
// spec is its last field, and functions the only one of spec.
const functionsKey = "\nspec:\n  functions:\n"

// writeMesh writes the FunctionMesh a few members at a time: each part's
// members are written as a FunctionMesh of them alone, whose text after
// functionsKey is theirs, and the first part's text before it the mesh's.
func (f *fmFile) writeMesh(w io.Writer) error {
	e := f.e
	fm := &functionMeshObject{
		TypeMeta: metav1.TypeMeta{APIVersion: functionMeshAPIVersion, Kind: "FunctionMesh"},
		Metadata: e.objectMeta(e.mesh, e.meshLabels()),
	}
	rooms := make([]memberRoom, min(membersAtOnce, len(f.members)))
	for start := 0; start == 0 || start < len(f.members); start += membersAtOnce {
		fm.Spec.Functions = fm.Spec.Functions[:0]
		for i := start; i < min(start+membersAtOnce, len(f.members)); i++ {
			planMap, err := f.planMap(i)
			if err != nil {
				return err
			}
			m, err := e.member(f.members[i], planMap, &rooms[i-start])
			if err != nil {
				return err
			}
			fm.Spec.Functions = append(fm.Spec.Functions, m)
		}
		text, err := yamlEncoder(e.fileText[:0], e.shared, fm)
		if err != nil {
			return fmt.Errorf("encoding %s: %w", functionMeshFile, err)
		}
		e.fileText = text
		if start > 0 {
			i := bytes.Index(text, []byte(functionsKey))
			if i < 0 {
				return fmt.Errorf("encoding %s: no %q in the text of its members", functionMeshFile, functionsKey)
			}
			text = text[i+len(functionsKey):]
		}
		if _, err := w.Write(text); err != nil {
			return err
		}
	}
	return nil
}

// writePlans writes the ConfigMaps of the members' plans, one document
// each.
func (f *fmFile) writePlans(w io.Writer) error {
	e := f.e
	for i, c := range f.members {
		cm, err := e.configMap(c, f.planMaps[i])
		if err != nil {
			return err
		}
		f.planMaps[i] = cm.Name
		text := e.fileText[:0]
		if i > 0 {
			text = append(text, "---\n"...)
		}
		if text, err = yamlEncoder(text, e.shared, cm); err != nil {
			return fmt.Errorf("encoding %s: %w", plansFile, err)
		}
		e.fileText = text
		if _, err := w.Write(text); err != nil {
			return err
		}
	}
	return nil
}

// countMembers counts the functions and sinks of p.
func countMembers(p *plan.Plan) int {
	n := 0
	for i := range p.Components {
		if p.Components[i].Kind != plan.Source {
			n++
		}
	}
	return n
}

// What the operator's mutating webhook would fill in, written out so that
// what meshc applies is what runs whether or not the webhook is installed.
// The Go instance reads none of these; the values are the webhook's.
const (
	operatorCluster      = "kubernetes" // its DefaultCluster
	operatorBytesType    = "[B"         // Java's byte[]: payloads as bytes
	operatorMaxPending   = 1000
	operatorLogTopicType = "runtime"
)

// OperatorMetricsPort is the port the operator's pods declare for
// metrics; instances serve /metrics, /healthz and /readyz there.
const OperatorMetricsPort = 9094

// The ports as text, written once.
var (
	metricsPortText         = strconv.Itoa(MetricsPort)
	operatorMetricsPortText = strconv.Itoa(OperatorMetricsPort)
)

// memberRoom is what one member of a part of the FunctionMesh is made in:
// its maps, lists and the values its pointers point to. Members are
// written a part at a time and let go of, so the member that takes the
// same place in the next part reuses them rather than making its own (a
// FunctionMesh of 10,000 members made 14 MB of them). None of them is
// among the emitter's shared values, whose text is kept by address.
type memberRoom struct {
	sourceSpecs map[string]fmConsumerConfig
	topics      []string
	output      fmOutput
	replicas    [2]int32 // the count or the least, and the most
	secrets     map[string]fmSecretRef
	annotations map[string]string
	volumes     []corev1.Volume
	planVolume  corev1.ConfigMapVolumeSource
}

// member is one function or sink of the FunctionMesh. The operator starts
// the instance binary with Pulsar's Go instance configuration, which
// gives the replica index and the broker; the meshc runtime reads its
// instance plan from the file $MESHC_INSTANCE_PLAN_FILE names, mounted from
// the component's plan ConfigMap. The other fields say the same for the
// operator and for people reading the resource. The user configuration
// is not among them: the operator hands it to the pod through an unquoted
// bash word, where a space or a $ in a value would break the command;
// the plan carries it.
// Building it fails only where checkMember fails.
// It is made in room, and holds what room holds until room makes the next.
func (e *emitter) member(c *plan.Component, planMap string, room *memberRoom) (fmFunction, error) {
	res, err := e.resources(c)
	if err != nil {
		return fmFunction{}, err
	}
	m := fmFunction{
		Name: e.component(c).name, Image: e.image(c), ImagePullPolicy: corev1.PullIfNotPresent,
		Tenant: e.p.Mesh.Tenant, Namespace: e.p.Mesh.Namespace, ClusterName: operatorCluster,
		LogTopic:             c.LogTopic,
		ProcessingGuarantee:  guarantee(c.Guarantee),
		SubscriptionName:     c.Subscription.Name,
		SubscriptionPosition: c.Subscription.Position,
		RetainOrdering:       c.RetainOrdering,
		AutoAck:              e.parts.yes,
		MaxPendingAsync:      e.parts.maxPending,
		ForwardProperties:    e.parts.yes,
		Resources:            res,
		Golang:               e.goRuntime(c),
		Pulsar:               fmPulsar{PulsarConfig: e.parts.pulsarConfig},
		VolumeMounts:         e.parts.planMounts,
	}
	if c.LogTopic != "" {
		m.LogTopicAgent = operatorLogTopicType
	}
	memberReplicas(c, &m, room)
	memberTopics(c, &m, room)
	if c.Guarantee == plan.AtLeastOnce || c.Guarantee == "" {
		m.MaxMessageRetry = int32(c.MaxRetries)
		m.Timeout = int32(time.Duration(c.Timeout) / time.Millisecond)
	}
	if m.MaxMessageRetry > 0 {
		m.DeadLetterTopic = c.DeadLetterTopic
	}
	if err := e.memberPod(c, planMap, &m, room); err != nil {
		return fmFunction{}, err
	}
	e.memberPulsar(&m)
	return m, nil
}

// Where the operator mounts the secrets of a member's tlsConfig and
// authConfig.oauth2Config (its GetMountPath), each key a file of its name.
const (
	operatorTLSDir    = "/etc/tls/pulsar-functions"
	operatorOAuth2Dir = "/etc/oauth2"
)

// memberPulsar says how the member reaches a secured Pulsar: the CAs to
// trust in the operator's tlsConfig and OAuth2 in its authConfig, which
// the operator mounts; a token or client certificate, which the CRD has no
// place for but as a value, from a projected volume of the mesh's own.
// The instance finds every file by the environment.
func (e *emitter) memberPulsar(m *fmFunction) {
	pp := e.p.Mesh.Pulsar
	if pp == nil {
		return
	}
	conn, files := backends.PulsarConnection(e.p, e.o.PulsarURL, pulsarDir)
	var own []backends.PulsarFile
	for _, f := range files {
		switch f.Name {
		case backends.TrustCertsFile:
			m.Pulsar.TLSConfig = &fmTLSConfig{Enabled: true, HostnameVerification: !pp.SkipHostnameVerification,
				CertSecretName: SecretName(f.Secret.Path), CertSecretKey: f.Secret.Key}
			conn.TrustCertsFile = path.Join(operatorTLSDir, f.Secret.Key)
		case backends.OAuth2CredentialsFile:
			m.Pulsar.AuthConfig = &fmAuthConfig{OAuth2Config: &fmOAuth2Config{Audience: conn.Audience, IssuerURL: conn.IssuerURL,
				Scope: conn.Scope, KeySecretName: SecretName(f.Secret.Path), KeySecretKey: f.Secret.Key}}
			conn.CredentialsFile = path.Join(operatorOAuth2Dir, f.Secret.Key)
		default:
			own = append(own, f)
		}
	}
	if m.Pulsar.TLSConfig == nil && strings.HasPrefix(conn.URL, "pulsar+ssl://") {
		m.Pulsar.TLSConfig = &fmTLSConfig{Enabled: true, HostnameVerification: !pp.SkipHostnameVerification}
	}
	m.Pod.Env = append(m.Pod.Env, envVars(backends.EnvMap(conn))...)
	if len(own) > 0 {
		m.Pod.Volumes = append(m.Pod.Volumes, corev1.Volume{Name: pulsarVolume, VolumeSource: corev1.VolumeSource{
			Projected: &corev1.ProjectedVolumeSource{Sources: secretProjections(own)}}})
		m.VolumeMounts = append(m.VolumeMounts, corev1.VolumeMount{Name: pulsarVolume, MountPath: pulsarDir, ReadOnly: true})
	}
}

// checkMember returns the error building c's member would: what the
// operator refuses, and what a plan written by hand may hold.
func (e *emitter) checkMember(c *plan.Component) error {
	if child := e.mesh + "-" + e.component(c).name; len(child) > MaxOperatorName {
		return backends.Meshf(string(c.Kind), c.Name, "", "the Function Mesh operator refuses the name %s: %d characters, at most %d; shorten the %s's name or the mesh's",
			child, len(child), MaxOperatorName, c.Kind)
	}
	if err := e.checkPod(c); err != nil {
		return err
	}
	switch {
	case autoscaled(c) && c.Replicas.Min < 1:
		return backends.Meshf(string(c.Kind), c.Name, "min_replicas", "the Function Mesh operator scales down to 1 instance at least; set min_replicas = 1 or more")
	case !autoscaled(c) && c.Replicas.Count < 1:
		return backends.Meshf(string(c.Kind), c.Name, "replicas", "the Function Mesh operator runs 1 instance at least, not %d; set replicas = 1 or more, or use --flavour plain",
			c.Replicas.Count)
	}
	patterns := 0
	for _, in := range c.Inputs {
		if in.Pattern {
			patterns++
		}
	}
	switch {
	case patterns > 1:
		return backends.Meshf(string(c.Kind), c.Name, "", "the Function Mesh operator takes one topic pattern per function, and it reads two; read them with two functions")
	case patterns == len(c.Inputs):
		// Its Go instance configuration is built from the first topic.
		return backends.Meshf(string(c.Kind), c.Name, "", "the Function Mesh operator starts a Go function only with a plain input topic, and it reads a topic pattern alone; add a topic it reads by name, or use --flavour plain")
	}
	return nil
}

// memberReplicas: the operator runs at least one instance, and autoscales
// when maxReplicas is set.
func memberReplicas(c *plan.Component, m *fmFunction, room *memberRoom) {
	if autoscaled(c) {
		room.replicas = [2]int32{int32(c.Replicas.Min), int32(c.Replicas.Max)}
		m.Replicas, m.MinReplicas, m.MaxReplicas = &room.replicas[0], &room.replicas[0], &room.replicas[1]
		return
	}
	room.replicas[0] = int32(c.Replicas.Count)
	m.Replicas, m.MinReplicas = &room.replicas[0], &room.replicas[0]
}

// memberTopics says what the member reads and writes, each topic with
// its Pulsar schema type, so that the operator and people see the types.
// A sink writes no topic: its output names none.
func memberTopics(c *plan.Component, m *fmFunction, room *memberRoom) {
	m.Input.TypeClassName = operatorBytesType
	if len(c.Inputs) > 0 {
		if room.sourceSpecs == nil {
			room.sourceSpecs = map[string]fmConsumerConfig{}
		}
		clear(room.sourceSpecs)
		m.Input.SourceSpecs = room.sourceSpecs
	}
	topics := room.topics[:0]
	for _, in := range c.Inputs {
		m.Input.SourceSpecs[in.Topic] = fmConsumerConfig{SchemaType: in.Schema.PulsarType(), IsRegexPattern: in.Pattern}
		if in.Pattern {
			m.Input.TopicPattern = in.Topic
		} else {
			topics = append(topics, in.Topic)
		}
	}
	if len(topics) > 0 {
		room.topics, m.Input.Topics = topics, topics
	}
	room.output = fmOutput{TypeClassName: operatorBytesType}
	if c.Output != nil {
		room.output.Topic, room.output.SinkSchemaType = c.Output.Topic, c.Output.Schema.PulsarType()
	}
	m.Output = &room.output
}

// memberPod gives the operator's pod what the runtime needs and what the
// plain flavour's pods have: the plan, the metrics address, labels, scrape
// annotations and a non-root user. Pulsar's address comes with the
// operator's instance configuration. The plan's ConfigMap is named after
// its content, so a changed plan changes the pod and the operator rolls it.
func (e *emitter) memberPod(c *plan.Component, planMap string, m *fmFunction, room *memberRoom) error {
	secrets, err := secretEnv(c)
	if err != nil {
		return err
	}
	// The operator turns secretsMap entries into environment variables
	// named after their keys.
	if len(secrets) > 0 {
		if room.secrets == nil {
			room.secrets = map[string]fmSecretRef{}
		}
		clear(room.secrets)
		m.SecretsMap = room.secrets
	}
	for _, s := range secrets {
		ref := s.ValueFrom.SecretKeyRef
		m.SecretsMap[s.Name] = fmSecretRef{Path: ref.Name, Key: ref.Key}
	}
	if room.annotations == nil {
		room.annotations = make(map[string]string, podAnnotationCount)
	}
	clear(room.annotations)
	annotations := e.addPodAnnotations(c, room.annotations)
	annotations["prometheus.io/port"] = operatorMetricsPortText
	room.planVolume = corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: planMap}}
	room.volumes = append(room.volumes[:0], corev1.Volume{Name: "plan", VolumeSource: corev1.VolumeSource{ConfigMap: &room.planVolume}})
	m.Pod = fmPod{
		Labels:             e.memberLabels(c),
		Annotations:        annotations,
		ServiceAccountName: e.mesh,
		SecurityContext:    e.parts.podSecurity,
		Env:                e.parts.memberEnv,
		Volumes:            room.volumes,
	}
	return nil
}

// memberLabels are the labels of c's pods. The operator's StatefulSet
// selects its pods by its own app.kubernetes.io/name and instance, and pod
// labels override its own: the pods keep the operator's, and the labels
// left are those of every member of c's kind, which share one map.
func (e *emitter) memberLabels(c *plan.Component) map[string]string {
	if l, ok := e.parts.memberLabels[c.Kind]; ok {
		return l
	}
	l := e.addMeshLabels(make(map[string]string, labelCount))
	l[componentLabel] = string(c.Kind)
	e.parts.memberLabels[c.Kind] = l
	e.shared.add(l)
	return l
}

// KustomizeConfigFile teaches kustomize where a FunctionMesh names other
// objects of the mesh, so that an overlay's namePrefix, nameSuffix or
// namespace renames the references with the objects.
const KustomizeConfigFile = "kustomizeconfig.yaml"

type kustomizeConfig struct {
	NameReference []nameReference `json:"nameReference"`
}

type nameReference struct {
	Kind       string      `json:"kind"`
	Version    string      `json:"version"`
	FieldSpecs []fieldSpec `json:"fieldSpecs"`
}

type fieldSpec struct {
	Group   string `json:"group"`
	Version string `json:"version"`
	Kind    string `json:"kind"`
	Path    string `json:"path"`
}

// kustomizeReferences are the references of a FunctionMesh's members to
// the mesh's ConfigMaps (plans, Pulsar's addresses) and ServiceAccount.
// Secrets are the user's, outside the mesh's files.
func kustomizeReferences() kustomizeConfig {
	member := func(p string) fieldSpec {
		return fieldSpec{Group: "compute.functionmesh.io", Version: "v1alpha1", Kind: "FunctionMesh", Path: "spec/functions/" + p}
	}
	return kustomizeConfig{NameReference: []nameReference{
		{Kind: "ConfigMap", Version: "v1", FieldSpecs: []fieldSpec{member("pod/volumes/configMap/name"), member("pulsar/pulsarConfig")}},
		{Kind: "ServiceAccount", Version: "v1", FieldSpecs: []fieldSpec{member("pod/serviceAccountName")}},
	}}
}

func guarantee(g plan.Guarantee) string {
	switch g {
	case plan.AtMostOnce:
		return "atmost_once"
	case plan.EffectivelyOnce:
		return "effectively_once"
	}
	return "atleast_once"
}

func (e *emitter) pulsarConfigName() string { return e.mesh + "-pulsar" }

// goRuntime is the operator's Go runtime of c: the binary it runs. Members
// running one binary share one.
func (e *emitter) goRuntime(c *plan.Component) *fmGoRuntime {
	binary := e.binary(c)
	if r, ok := e.parts.goRuntimes[binary]; ok {
		return r
	}
	r := &fmGoRuntime{Go: path.Join(image.BinDir, binary)}
	e.parts.goRuntimes[binary] = r
	return r
}

// pulsarConfig is the ConfigMap the operator reads Pulsar's addresses
// from. The web service URL is the mesh's admin_url, else the broker's
// host on Pulsar's default HTTP port.
func (e *emitter) pulsarConfig() (*corev1.ConfigMap, error) {
	u, err := url.Parse(e.o.PulsarURL)
	if err != nil || u.Hostname() == "" {
		return nil, fmt.Errorf("--pulsar-url %q: want pulsar://HOST:PORT or pulsar+ssl://HOST:PORT", e.o.PulsarURL)
	}
	web := "http://" + u.Hostname() + ":" + strconv.Itoa(8080)
	if u.Scheme == "pulsar+ssl" {
		web = "https://" + u.Hostname() + ":" + strconv.Itoa(8443)
	}
	if pp := e.p.Mesh.Pulsar; pp != nil && pp.AdminURL != "" {
		web = pp.AdminURL
	}
	return &corev1.ConfigMap{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"},
		ObjectMeta: e.objectMeta(e.pulsarConfigName(), e.meshLabels()),
		Data:       map[string]string{"brokerServiceURL": e.o.PulsarURL, "webServiceURL": web},
	}, nil
}
