package planner

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/meshc/meshc/compiler"
	"github.com/meshc/meshc/planner/plan"
)

// Options say how instances run, where the mesh itself does not.
type Options struct {
	// Source is the .mesh file the plan is made from, for messages.
	Source string
	// Binary is the instance binary for built-in and Go functions; it
	// defaults to meshrt, the standard one.
	Binary string
	// Image is the container image that holds Binary, for backends that
	// run containers.
	Image string
}

// DefaultMaxRetries is how often a failing message is delivered before it
// goes to the dead-letter topic, when the mesh does not say.
const DefaultMaxRetries = 3

// The sandbox of a wasm function, where the mesh does not say.
const (
	DefaultWasmMemory = 64 << 20
	DefaultWasmTime   = 10 * time.Second
)

// Plan turns a compiled mesh, free of errors, into a plan. Topics are
// sorted by name; components by kind (sources, functions, sinks), then name.
func Plan(m *compiler.Mesh, opts Options) *plan.Plan {
	if opts.Binary == "" {
		opts.Binary = "meshrt"
	}
	p := &plan.Plan{
		APIVersion: plan.APIVersion,
		Mesh:       plan.Mesh{Name: m.Name, Tenant: m.Tenant, Namespace: m.Namespace, Source: opts.Source, Pulsar: pulsar(m.Pulsar)},
		Params:     params(m.Params),
	}
	pl := &planner{m: m, opts: opts, avro: map[*compiler.Type]string{}, hasher: hasher{digests: map[string]string{}}}
	// Sorting the compiler's pointers is cheaper than the plan's structs.
	topics := slices.SortedFunc(slices.Values(m.Topics), func(a, b *compiler.Topic) int { return strings.Compare(a.Name, b.Name) })
	p.Topics = make([]plan.Topic, 0, len(topics))
	for _, t := range topics {
		p.Topics = append(p.Topics, plan.Topic{
			Name: t.Name, FQN: t.FullName, Schema: pl.schema(t.Schema), Partitions: t.Partitions,
			External: t.External, Pattern: t.Pattern,
		})
	}
	comps := slices.SortedFunc(slices.Values(m.Components), func(a, b *compiler.Component) int {
		return cmp.Or(plan.Kind(a.Kind).Order()-plan.Kind(b.Kind).Order(), strings.Compare(a.Name, b.Name))
	})
	p.Components = make([]plan.Component, 0, len(comps))
	for _, c := range comps {
		p.Components = append(p.Components, pl.component(c))
	}
	return p
}

func params(ps []*compiler.Param) map[string]string {
	if len(ps) == 0 {
		return nil
	}
	out := make(map[string]string, len(ps))
	for _, p := range ps {
		switch v := p.Value.(type) {
		case nil:
		case time.Duration:
			out[p.Name] = v.String()
		default:
			out[p.Name] = fmt.Sprint(v)
		}
	}
	return out
}

// planner holds what one Plan call shares between components.
type planner struct {
	m    *compiler.Mesh
	opts Options
	// avro caches the Avro schema of each record type: a mesh has few
	// types and many topics and components using them.
	avro   map[*compiler.Type]string
	hasher hasher
}

func (pl *planner) component(c *compiler.Component) plan.Component {
	m, opts := pl.m, pl.opts
	o := c.Options
	pc := plan.Component{
		Kind: plan.Kind(c.Kind), Name: c.Name, FQFN: m.Tenant + "/" + m.Namespace + "/" + c.Name,
		Implementation:  plan.Implementation{Kind: string(c.Impl.Kind), Name: c.Impl.Name, Command: c.Impl.Command, Module: c.Impl.Module},
		Subscription:    plan.Subscription(o.Subscription),
		Guarantee:       plan.Guarantee(o.Guarantee),
		Replicas:        plan.Replicas{Count: o.Replicas, Min: o.MinReplicas, Max: o.MaxReplicas},
		Resources:       plan.Resources{CPU: o.CPU, Memory: o.Memory},
		Timeout:         plan.Duration(o.Timeout),
		MaxRetries:      o.MaxRetries,
		RetainOrdering:  o.RetainOrdering,
		State:           o.State,
		Config:          plan.Config(o.Config), // the same entries, shared
		LogTopic:        fullName(o.Log),
		DeadLetterTopic: fullName(o.DeadLetter),
		Runtime:         plan.Runtime{Binary: opts.Binary, Image: opts.Image},
	}
	if pc.MaxRetries < 0 {
		pc.MaxRetries = DefaultMaxRetries
	}
	if c.Kind != compiler.Source && pc.Subscription.Name == "" {
		pc.Subscription.Name = pc.FQFN
	}
	if c.Impl.Kind == compiler.ImplExec {
		pc.Runtime = plan.Runtime{Binary: opts.Binary, Image: opts.Image}
	}
	if len(c.Inputs) > 0 {
		pc.Inputs = make([]plan.Input, 0, len(c.Inputs))
	}
	for _, t := range c.Inputs {
		in := plan.Input{Topic: t.FullName, Schema: pl.schema(t.Schema)}
		if t.Pattern != "" {
			in.Topic, in.Pattern = t.Pattern, true
		}
		pc.Inputs = append(pc.Inputs, in)
	}
	if c.Output != nil {
		pc.Output = &plan.Output{Topic: c.Output.FullName, Schema: pl.schema(c.Output.Schema)}
	}
	if len(o.Publishes) > 0 {
		pc.Publishes = make([]plan.Output, 0, len(o.Publishes))
	}
	for _, t := range o.Publishes {
		pc.Publishes = append(pc.Publishes, plan.Output{Topic: t.FullName, Schema: pl.schema(t.Schema)})
	}
	if c.Impl.Kind == compiler.ImplWasm {
		pc.Sandbox = sandbox(o.Sandbox)
	}
	if len(o.Secrets) > 0 {
		pc.Secrets = map[string]plan.Secret{}
		for name, s := range o.Secrets {
			pc.Secrets[name] = plan.Secret(s)
		}
	}
	pc.Hash = pl.hasher.hash(pc)
	return pc
}

// sandbox fills in the defaults, so a plan says every limit it runs by.
func sandbox(s *compiler.Sandbox) *plan.Sandbox {
	out := &plan.Sandbox{Memory: DefaultWasmMemory, Time: plan.Duration(DefaultWasmTime)}
	if s != nil {
		out.Dirs = s.Dirs
		if s.Memory > 0 {
			out.Memory = s.Memory
		}
		if s.Time > 0 {
			out.Time = plan.Duration(s.Time)
		}
	}
	return out
}

func fullName(t *compiler.Topic) string {
	if t == nil {
		return ""
	}
	return t.FullName
}

func (pl *planner) schema(s *compiler.Schema) plan.Schema {
	if s == nil {
		return plan.Schema{Type: "bytes"}
	}
	ps := plan.Schema{Type: string(s.Kind), File: s.File, Message: s.Message}
	if s.Kind == compiler.SchemaJSON && s.Record != nil {
		def, ok := pl.avro[s.Record]
		if !ok {
			def = avroSchema(s.Record)
			pl.avro[s.Record] = def
		}
		ps.Definition = def
	}
	if s.Kind == compiler.SchemaAvro || s.Kind == compiler.SchemaProtobuf {
		ps.Definition, ps.Descriptor = s.Definition, s.Descriptor
	}
	return ps
}

// Hash is a digest of everything a component's instances behave by: all
// of it but the replica counts and the hash itself. Rescaling a component
// keeps its hash, and so restarts nothing.
func Hash(c plan.Component) string {
	h := hasher{digests: map[string]string{}}
	return h.hash(c)
}

// hasher maps schema definitions to their digests, computed once each,
// and keeps the buffers of one component's hash for the next.
type hasher struct {
	digests   map[string]string
	buf       []byte
	inputs    []plan.Input
	output    plan.Output
	publishes []plan.Output
}

// hash digests the component's JSON as encoding/json writes it, with a
// newline after, which is what hashes have always been taken over.
func (dg *hasher) hash(c plan.Component) string {
	c.Hash, c.Replicas = "", plan.Replicas{}
	// Schema definitions are long JSON texts that would be escaped again
	// inside the component's JSON: their digests stand in for them.
	if c.Inputs != nil {
		dg.inputs = append(dg.inputs[:0], c.Inputs...)
		c.Inputs = dg.inputs
	}
	for i := range c.Inputs {
		c.Inputs[i].Schema = dg.digested(c.Inputs[i].Schema)
	}
	if c.Output != nil {
		dg.output = *c.Output
		dg.output.Schema = dg.digested(dg.output.Schema)
		c.Output = &dg.output
	}
	if c.Publishes != nil {
		dg.publishes = append(dg.publishes[:0], c.Publishes...)
		c.Publishes = dg.publishes
	}
	for i := range c.Publishes {
		c.Publishes[i].Schema = dg.digested(c.Publishes[i].Schema)
	}
	b, err := plan.AppendCompact(dg.buf[:0], &c)
	if err != nil {
		panic(fmt.Sprintf("planner: a component does not encode: %v", err)) // config holds only JSON values
	}
	dg.buf = append(b, '\n')
	sum := sha256.Sum256(dg.buf)
	return hex.EncodeToString(sum[:8])
}

func (dg *hasher) digested(s plan.Schema) plan.Schema {
	if len(s.Descriptor) > 0 {
		sum := sha256.Sum256(s.Descriptor)
		s.Descriptor = sum[:]
	}
	if s.Definition == "" {
		return s
	}
	d, ok := dg.digests[s.Definition]
	if !ok {
		sum := sha256.Sum256([]byte(s.Definition))
		d = hex.EncodeToString(sum[:])
		dg.digests[s.Definition] = d
	}
	s.Definition = d
	return s
}

// pulsar is the mesh's pulsar block as the plan holds it.
func pulsar(p *compiler.Pulsar) *plan.Pulsar {
	if p == nil {
		return nil
	}
	out := &plan.Pulsar{URL: p.URL, AdminURL: p.AdminURL, TrustCerts: secret(p.TrustCerts),
		SkipHostnameVerification: p.SkipHostnameVerification, Token: secret(p.Token)}
	if o := p.OAuth2; o != nil {
		out.OAuth2 = &plan.OAuth2{IssuerURL: o.IssuerURL, Audience: o.Audience, Scope: o.Scope, Credentials: *secret(&o.Credentials)}
	}
	if c := p.ClientCert; c != nil {
		out.ClientCert = &plan.ClientCert{Cert: *secret(&c.Cert), Key: *secret(&c.Key)}
	}
	return out
}

func secret(s *compiler.Secret) *plan.Secret {
	if s == nil {
		return nil
	}
	v := plan.Secret(*s)
	return &v
}
