package plan

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// APIVersion names this version of the plan format. A reader refuses a
// plan of another version rather than misreading it.
const APIVersion = "meshc/v1"

// Plan is a whole mesh, ready to deploy: its topics and one entry per
// function, source and sink. Lists are sorted and maps encode with sorted
// keys, so the same mesh and parameters always give the same bytes.
type Plan struct {
	APIVersion string            `json:"apiVersion"`
	Mesh       Mesh              `json:"mesh"`
	Params     map[string]string `json:"params,omitempty"`
	Topics     []Topic           `json:"topics"`
	Components []Component       `json:"components"`
}

// Mesh identifies the mesh and where it lives in Pulsar.
type Mesh struct {
	Name      string `json:"name"`
	Tenant    string `json:"tenant"`
	Namespace string `json:"namespace"`
	// Source is the .mesh file the plan was made from, for messages.
	Source string `json:"source,omitempty"`
	// Pulsar is how instances reach Pulsar, as the mesh says; nil leaves
	// it all to the deployment.
	Pulsar *Pulsar `json:"pulsar,omitempty"`
}

// Pulsar is how instances reach Pulsar: addresses, the CAs to trust, and
// one way to authenticate, each credential a secret reference. A
// deployment's flags override it.
type Pulsar struct {
	URL      string `json:"url,omitempty"`      // pulsar:// or pulsar+ssl://
	AdminURL string `json:"adminURL,omitempty"` // http:// or https://
	// TrustCerts is a PEM bundle of CAs; nil trusts the system's.
	TrustCerts *Secret `json:"trustCerts,omitempty"`
	// SkipHostnameVerification turns off the check of the broker's host
	// name against its certificate.
	SkipHostnameVerification bool        `json:"skipHostnameVerification,omitempty"`
	Token                    *Secret     `json:"token,omitempty"`
	OAuth2                   *OAuth2     `json:"oauth2,omitempty"`
	ClientCert               *ClientCert `json:"clientCert,omitempty"`
}

// OAuth2 is Pulsar's OAuth2 client-credentials authentication.
type OAuth2 struct {
	IssuerURL string `json:"issuerURL"`
	Audience  string `json:"audience,omitempty"`
	Scope     string `json:"scope,omitempty"`
	// Credentials is the JSON file of client_id and client_secret.
	Credentials Secret `json:"credentials"`
}

// ClientCert is TLS client-certificate authentication.
type ClientCert struct {
	Cert Secret `json:"cert"`
	Key  Secret `json:"key"`
}

// Topic is a topic of the mesh with its fully qualified name.
type Topic struct {
	Name       string `json:"name"`
	FQN        string `json:"fqn"` // persistent://tenant/namespace/name
	Schema     Schema `json:"schema"`
	Partitions int    `json:"partitions,omitempty"`
	External   bool   `json:"external,omitempty"`
	// Pattern, when set, is a regular expression over fully qualified
	// names: the topic stands for every topic it matches.
	Pattern string `json:"pattern,omitempty"`
}

// Schema describes the messages of a topic, or what a function reads or
// writes.
type Schema struct {
	// Type is bytes, string, int64, float64, bool, json, avro or protobuf.
	Type string `json:"type"`
	// Definition is the schema text for json and avro (an Avro record
	// schema in JSON, as Pulsar stores JSON and Avro schemas), read from
	// the avro file at plan time.
	Definition string `json:"definition,omitempty"`
	// File and Message locate a protobuf or avro schema by reference.
	File    string `json:"file,omitempty"`
	Message string `json:"message,omitempty"`
	// Descriptor is the protobuf file compiled at plan time, with its
	// imports: a serialized google.protobuf.FileDescriptorSet, whose
	// Message the payloads are.
	Descriptor []byte `json:"descriptor,omitempty"`
}

// PulsarType is the schema's type as Pulsar names it (SchemaType), as
// function configurations and schema registries write it.
func (s Schema) PulsarType() string {
	switch s.Type {
	case "float64":
		return "DOUBLE"
	case "bool":
		return "BOOLEAN"
	case "protobuf":
		// As the runtime's producers declare it: the compiled descriptor
		// set, which needs no generated classes to read.
		return "PROTOBUF_NATIVE"
	case "", "bytes":
		return "BYTES"
	case "json": // the others in upper case, written out: emits ask for them a topic at a time
		return "JSON"
	case "string":
		return "STRING"
	case "int64":
		return "INT64"
	case "avro":
		return "AVRO"
	}
	return strings.ToUpper(s.Type)
}

// Kind tells functions, sources and sinks apart.
type Kind string

const (
	Function Kind = "function"
	Source   Kind = "source"
	Sink     Kind = "sink"
)

// Order ranks the kinds upstream first: sources, then functions, then
// sinks, the order plans list components in and list and status show them.
func (k Kind) Order() int {
	switch k {
	case Source:
		return 0
	case Function:
		return 1
	}
	return 2
}

// Component is one function, source or sink and everything its instances
// need to run.
type Component struct {
	Kind Kind   `json:"kind"`
	Name string `json:"name"`
	// FQFN is tenant/namespace/name, as Pulsar names functions.
	FQFN string `json:"fqfn"`
	// Hash covers everything an instance's behaviour depends on, and not
	// the replica count: instances whose hash is unchanged need no restart.
	Hash string `json:"hash"`

	Implementation Implementation `json:"implementation"`
	Inputs         []Input        `json:"inputs,omitempty"`
	Output         *Output        `json:"output,omitempty"`
	// Publishes lists the other topics the component may publish to.
	Publishes       []Output `json:"publishes,omitempty"`
	LogTopic        string   `json:"logTopic,omitempty"`
	DeadLetterTopic string   `json:"deadLetterTopic,omitempty"`

	Subscription Subscription `json:"subscription,omitzero"`
	Guarantee    Guarantee    `json:"guarantee,omitempty"`
	Replicas     Replicas     `json:"replicas"`
	Resources    Resources    `json:"resources,omitzero"`

	Timeout        Duration          `json:"timeout,omitempty"`
	MaxRetries     int               `json:"maxRetries,omitempty"`
	RetainOrdering bool              `json:"retainOrdering,omitempty"`
	State          bool              `json:"state,omitempty"`
	Config         Config            `json:"config,omitempty"`
	Secrets        map[string]Secret `json:"secrets,omitempty"`
	// Sandbox limits a wasm implementation.
	Sandbox *Sandbox `json:"sandbox,omitempty"`
	Runtime Runtime  `json:"runtime"`
}

// Implementation says what code an instance runs.
type Implementation struct {
	// Kind is builtin, go, exec or wasm.
	Kind string `json:"kind"`
	// Name is the built-in's or the registered Go function's name.
	Name string `json:"name,omitempty"`
	// Command is the executable and its arguments, for exec.
	Command []string `json:"command,omitempty"`
	// Module is the WebAssembly module's path, for wasm.
	Module string `json:"module,omitempty"`
}

// Sandbox is what a WebAssembly function may use: memory and time per call,
// and host folders it may read. Nothing else: no network, no other files.
type Sandbox struct {
	Memory int64    `json:"memory"`         // bytes of linear memory per module instance
	Time   Duration `json:"time"`           // per call
	Dirs   []string `json:"dirs,omitempty"` // mounted read-only at the same paths
}

// Input is a topic, or a pattern of topics, that a component reads.
type Input struct {
	Topic   string `json:"topic"` // FQN, or the pattern when Pattern is set
	Pattern bool   `json:"pattern,omitempty"`
	Schema  Schema `json:"schema"`
}

// Output is the topic a component writes.
type Output struct {
	Topic  string `json:"topic"`
	Schema Schema `json:"schema"`
}

// Subscription is how a component's instances share their inputs.
type Subscription struct {
	Name string `json:"name,omitempty"`
	// Type is exclusive, shared, failover or key_shared.
	Type string `json:"type,omitempty"`
	// Position is latest or earliest: where a new subscription starts.
	Position string `json:"position,omitempty"`
}

// Guarantee is a processing guarantee.
type Guarantee string

const (
	AtMostOnce      Guarantee = "at_most_once"
	AtLeastOnce     Guarantee = "at_least_once"
	EffectivelyOnce Guarantee = "effectively_once"
)

// Replicas is a fixed count, or bounds for an autoscaler.
type Replicas struct {
	Count int `json:"count"`
	Min   int `json:"min,omitempty"`
	Max   int `json:"max,omitempty"`
}

// Resources an instance asks for.
type Resources struct {
	CPU    float64 `json:"cpu,omitempty"`    // cores
	Memory int64   `json:"memory,omitempty"` // bytes
}

// Secret refers to a value kept by the deployment's secret store, never the
// value itself.
type Secret struct {
	Path string `json:"path"`
	Key  string `json:"key"`
}

// Runtime is the program that runs an instance.
type Runtime struct {
	Binary string   `json:"binary,omitempty"`
	Image  string   `json:"image,omitempty"`
	Args   []string `json:"args,omitempty"`
}

// Duration encodes as Go's duration text ("1m30s"), which people can read
// in a diff.
type Duration time.Duration

func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("invalid duration %q: %w", b, err)
	}
	*d = Duration(v)
	return nil
}

// Instance is what one running instance reads: its component and its
// replica index. Where Pulsar is, and the secrets' values, come from the
// instance's environment, not from the plan.
type Instance struct {
	APIVersion string    `json:"apiVersion"`
	Mesh       Mesh      `json:"mesh"`
	Component  Component `json:"component"`
	Index      int       `json:"index"`
}

// Instance returns the plan of replica index of component c.
func (p *Plan) Instance(c *Component, index int) Instance {
	return Instance{APIVersion: p.APIVersion, Mesh: p.Mesh, Component: *c, Index: index}
}

// Decode reads a plan and checks its version.
func Decode(data []byte) (*Plan, error) {
	var p Plan
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber() // config numbers keep every digit; diffs compare them by value
	if err := dec.Decode(&p); err != nil {
		return nil, fmt.Errorf("reading plan: %w", err)
	}
	if p.APIVersion != APIVersion {
		return nil, fmt.Errorf("plan apiVersion is %q, this meshc reads %q: regenerate the plan with this meshc", p.APIVersion, APIVersion)
	}
	return &p, nil
}

// DecodeInstance reads an instance plan and checks its version.
func DecodeInstance(data []byte) (*Instance, error) {
	var in Instance
	if err := json.Unmarshal(data, &in); err != nil {
		return nil, fmt.Errorf("reading instance plan: %w", err)
	}
	// Functions have always read the config's numbers as float64.
	if err := in.Component.Config.floats(); err != nil {
		return nil, fmt.Errorf("reading instance plan: %w", err)
	}
	if in.APIVersion != APIVersion {
		return nil, fmt.Errorf("instance plan apiVersion is %q, this runtime reads %q", in.APIVersion, APIVersion)
	}
	return &in, nil
}
