package pulsarworker

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"time"

	"github.com/apache/pulsar-client-go/pulsaradmin/pkg/utils"

	"github.com/meshc/meshc/backends"
	"github.com/meshc/meshc/planner/plan"
	"github.com/meshc/meshc/runtime"
)

// Keys of a function's user configuration that meshc writes besides the
// component's own config: the instance plan (what meshrt reads), and what
// deploy compares to know whether the function must change.
const (
	PlanKey    = runtime.UserConfigPlanKey
	MeshKey    = "meshc.mesh"
	KindKey    = "meshc.kind"
	HashKey    = "meshc.hash"
	PackageKey = "meshc.package"
)

// Package is the code every function of the mesh runs: the instance
// binary, uploaded from File, or fetched by the worker from URL.
type Package struct {
	File string // a local file to upload
	URL  string // a URL the worker downloads (http://, https://, function://, file://)
	// Digest identifies the content (sha256:...), so that a new binary
	// updates the functions; "" when only the URL is known, and the URL
	// stands for it.
	Digest string
}

// Name is what the FunctionConfig's go field says of the package.
func (pk Package) Name() string {
	if pk.URL != "" {
		return pk.URL
	}
	return filepath.Base(pk.File)
}

// identity is what a function records of its package to tell a change.
func (pk Package) identity() string {
	if pk.Digest != "" {
		return pk.Digest
	}
	return pk.URL
}

// Function is one component as the worker holds it.
type Function struct {
	Component *plan.Component
	Config    utils.FunctionConfig
}

// Configs makes the FunctionConfig of every component of p, in plan order.
// What the worker cannot run as the mesh says is a MeshError at the
// component.
func Configs(p *plan.Plan, pk Package) ([]Function, error) {
	var out []Function
	var errs []error
	for i := range p.Components {
		c := &p.Components[i]
		fc, err := Config(p, c, pk)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out = append(out, Function{Component: c, Config: fc})
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return out, nil
}

// Config is the FunctionConfig of component c: see SPEC.md, "Pulsar
// Functions worker", for each field.
func Config(p *plan.Plan, c *plan.Component, pk Package) (utils.FunctionConfig, error) {
	fc, err := baseConfig(p, c, pk)
	if err != nil {
		return fc, err
	}
	inst := p.Instance(c, 0) // the instance's index comes from the worker's instanceID
	data, err := json.Marshal(inst)
	if err != nil {
		return fc, fmt.Errorf("%s %s: encoding its instance plan: %w", c.Kind, c.Name, err)
	}
	fc.InputSpecs = inputSpecs(c)
	fc.UserConfig = userConfig(p, c, pk)
	fc.UserConfig[PlanKey] = json.RawMessage(data)
	return fc, nil
}

// baseConfig is the FunctionConfig of component c but for its input specs
// and user config: maps, which Files writes from the plan without making
// them.
func baseConfig(p *plan.Plan, c *plan.Component, pk Package) (utils.FunctionConfig, error) {
	fc := utils.FunctionConfig{
		Tenant: p.Mesh.Tenant, Namespace: p.Mesh.Namespace, Name: c.Name,
		Runtime:                      utils.GoRuntime,
		Go:                           ptr(pk.Name()),
		ProcessingGuarantees:         guarantee(c.Guarantee),
		SubName:                      c.Subscription.Name,
		SubscriptionPosition:         position(c.Subscription.Position),
		RetainOrdering:               c.RetainOrdering,
		LogTopic:                     c.LogTopic,
		AutoAck:                      guarantee(c.Guarantee) != manual,
		ForwardSourceMessageProperty: true,
		// meshc removes the subscriptions itself, so that delete can keep
		// them when told to.
		CleanupSubscription: false,
		Resources:           resources(c.Resources),
		Secrets:             secrets(c.Secrets),
	}
	n, err := parallelism(c)
	if err != nil {
		return fc, err
	}
	fc.Parallelism = n
	if err := inputs(p, c, &fc); err != nil {
		return fc, err
	}
	if c.Output != nil {
		fc.Output, fc.OutputSchemaType = c.Output.Topic, c.Output.Schema.PulsarType()
	}
	// Pulsar takes a timeout with at-least-once only. It refuses retries
	// (and so a dead-letter topic) and key ordering for a Go function:
	// the instance plan carries them, and meshrt applies them.
	if c.Kind != plan.Source && fc.ProcessingGuarantees == atLeastOnce && c.Timeout > 0 {
		fc.TimeoutMs = ptr(int64(time.Duration(c.Timeout) / time.Millisecond))
	}
	return fc, nil
}

// inputs: topics by name in inputs, the one pattern in topicsPattern
// (inputSpecs has them all). A source reads nothing, and Pulsar refuses a
// function without an input: it gets its idle topic, which nothing writes.
func inputs(p *plan.Plan, c *plan.Component, fc *utils.FunctionConfig) error {
	if c.Kind == plan.Source {
		fc.Inputs = []string{IdleTopic(p, c)}
		return nil
	}
	for _, in := range c.Inputs {
		if !in.Pattern {
			fc.Inputs = append(fc.Inputs, in.Topic)
			continue
		}
		if fc.TopicsPattern != nil {
			return backends.Meshf(string(c.Kind), c.Name, "", "a Pulsar function reads one topic pattern, and this one reads two: read them with two functions")
		}
		fc.TopicsPattern = ptr(in.Topic)
	}
	return nil
}

// inputSpecs has every input topic of c with its schema type; nil for a
// source, which reads its idle topic only.
func inputSpecs(c *plan.Component) map[string]utils.ConsumerConfig {
	if c.Kind == plan.Source {
		return nil
	}
	specs := make(map[string]utils.ConsumerConfig, len(c.Inputs))
	for i := range c.Inputs {
		specs[c.Inputs[i].Topic] = inputSpec(&c.Inputs[i])
	}
	return specs
}

// inputSpec is how the worker reads input in.
func inputSpec(in *plan.Input) utils.ConsumerConfig {
	return utils.ConsumerConfig{SchemaType: in.Schema.PulsarType(), RegexPattern: in.Pattern}
}

// IdleTopic is the input topic of a source's function, which nothing
// writes: persistent://TENANT/NAMESPACE/MESH-SOURCE-meshc-idle.
func IdleTopic(p *plan.Plan, c *plan.Component) string {
	return fmt.Sprintf("persistent://%s/%s/%s-%s-meshc-idle", p.Mesh.Tenant, p.Mesh.Namespace, p.Mesh.Name, c.Name)
}

// parallelism is the replica count; the worker has no autoscaler, so a
// component with bounds runs its minimum, and at least one instance.
func parallelism(c *plan.Component) (int, error) {
	n := max(c.Replicas.Count, c.Replicas.Min)
	if n < 1 {
		return 0, backends.Meshf(string(c.Kind), c.Name, "replicas", "a Pulsar function runs 1 instance at least, not %d, and the worker does not scale to zero: set replicas = 1 or more", n)
	}
	return n, nil
}

// userConfig carries the component's config as Pulsar users read user
// config, and meshc's own keys; Config adds the instance plan.
func userConfig(p *plan.Plan, c *plan.Component, pk Package) map[string]any {
	own := ownKeys(p, c, pk)
	uc := make(map[string]any, len(c.Config)+len(own.keys))
	for _, e := range c.Config {
		uc[e.Key] = e.Value
	}
	delete(uc, PlanKey)
	for i, k := range own.list() {
		uc[k] = own.values[i]
	}
	return uc
}

// ownUserConfig is what meshc writes into a user config besides the
// component's config and the instance plan.
type ownUserConfig struct {
	keys, values [4]string
	n            int
}

// ownKeys: the component's hash and kind, the mesh's name and the
// package's identity.
func ownKeys(p *plan.Plan, c *plan.Component, pk Package) ownUserConfig {
	o := ownUserConfig{
		keys:   [4]string{HashKey, KindKey, MeshKey, PackageKey},
		values: [4]string{c.Hash, string(c.Kind), p.Mesh.Name, pk.identity()},
		n:      3,
	}
	if o.values[3] != "" {
		o.n = 4
	}
	return o
}

func (o *ownUserConfig) list() []string { return o.keys[:o.n] }

// secrets are references, as Pulsar's Kubernetes secrets provider takes
// them: the store's path and the key in it.
func secrets(s map[string]plan.Secret) map[string]any {
	if len(s) == 0 {
		return nil
	}
	out := map[string]any{}
	for _, name := range slices.Sorted(maps.Keys(s)) {
		out[name] = map[string]any{"path": s[name].Path, "key": s[name].Key}
	}
	return out
}

// resources: what the plan says, Pulsar's defaults for the rest (the
// worker refuses zero), nil when the plan says nothing.
func resources(r plan.Resources) *utils.Resources {
	if r == (plan.Resources{}) {
		return nil
	}
	out := utils.NewDefaultResources()
	if r.CPU > 0 {
		out.CPU = r.CPU
	}
	if r.Memory > 0 {
		out.RAM = r.Memory
	}
	return out
}

// Pulsar's ProcessingGuarantees names.
const (
	atLeastOnce = "ATLEAST_ONCE"
	atMostOnce  = "ATMOST_ONCE"
	manual      = "MANUAL"
)

// guarantee is Pulsar's name of g. Pulsar refuses EFFECTIVELY_ONCE for a
// Go function, which its Go instance cannot give; meshrt gives it, so the
// worker is told MANUAL: the instance acknowledges as it must itself.
func guarantee(g plan.Guarantee) string {
	switch g {
	case plan.AtMostOnce:
		return atMostOnce
	case plan.EffectivelyOnce:
		return manual
	}
	return atLeastOnce
}

// position is Pulsar's SubscriptionInitialPosition name, "" for its
// default (Latest).
func position(p string) string {
	switch p {
	case "earliest":
		return "Earliest"
	case "latest":
		return "Latest"
	}
	return ""
}

func ptr[T any](v T) *T { return &v }
