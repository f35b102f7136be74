package planner

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
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

// Plan turns a compiled mesh, free of errors, into a plan. Topics are
// sorted by name; components by kind (sources, functions, sinks), then name.
func Plan(m *compiler.Mesh, opts Options) *plan.Plan {
	if opts.Binary == "" {
		opts.Binary = "meshrt"
	}
	p := &plan.Plan{
		APIVersion: plan.APIVersion,
		Mesh:       plan.Mesh{Name: m.Name, Tenant: m.Tenant, Namespace: m.Namespace, Source: opts.Source},
		Params:     params(m.Params),
		Topics:     []plan.Topic{},
		Components: []plan.Component{},
	}
	for _, t := range m.Topics {
		p.Topics = append(p.Topics, plan.Topic{
			Name: t.Name, FQN: t.FullName, Schema: schema(t.Schema), Partitions: t.Partitions,
			External: t.External, Pattern: t.Pattern,
		})
	}
	slices.SortFunc(p.Topics, func(a, b plan.Topic) int { return cmp.Compare(a.Name, b.Name) })
	for _, c := range m.Components {
		p.Components = append(p.Components, component(m, c, opts))
	}
	slices.SortFunc(p.Components, func(a, b plan.Component) int {
		return cmp.Or(cmp.Compare(kindOrder[a.Kind], kindOrder[b.Kind]), cmp.Compare(a.Name, b.Name))
	})
	return p
}

var kindOrder = map[plan.Kind]int{plan.Source: 0, plan.Function: 1, plan.Sink: 2}

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

func component(m *compiler.Mesh, c *compiler.Component, opts Options) plan.Component {
	o := c.Options
	pc := plan.Component{
		Kind: plan.Kind(c.Kind), Name: c.Name, FQFN: m.Tenant + "/" + m.Namespace + "/" + c.Name,
		Implementation:  plan.Implementation{Kind: string(c.Impl.Kind), Name: c.Impl.Name, Command: c.Impl.Command},
		Subscription:    plan.Subscription(o.Subscription),
		Guarantee:       plan.Guarantee(o.Guarantee),
		Replicas:        plan.Replicas{Count: o.Replicas, Min: o.MinReplicas, Max: o.MaxReplicas},
		Resources:       plan.Resources{CPU: o.CPU, Memory: o.Memory},
		Timeout:         plan.Duration(o.Timeout),
		MaxRetries:      o.MaxRetries,
		RetainOrdering:  o.RetainOrdering,
		State:           o.State,
		Config:          o.Config,
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
	for _, t := range c.Inputs {
		in := plan.Input{Topic: t.FullName, Schema: schema(t.Schema)}
		if t.Pattern != "" {
			in.Topic, in.Pattern = t.Pattern, true
		}
		pc.Inputs = append(pc.Inputs, in)
	}
	if c.Output != nil {
		pc.Output = &plan.Output{Topic: c.Output.FullName, Schema: schema(c.Output.Schema)}
	}
	for _, t := range o.Publishes {
		pc.Publishes = append(pc.Publishes, plan.Output{Topic: t.FullName, Schema: schema(t.Schema)})
	}
	if len(o.Secrets) > 0 {
		pc.Secrets = map[string]plan.Secret{}
		for name, s := range o.Secrets {
			pc.Secrets[name] = plan.Secret(s)
		}
	}
	pc.Hash = Hash(pc)
	return pc
}

func fullName(t *compiler.Topic) string {
	if t == nil {
		return ""
	}
	return t.FullName
}

func schema(s *compiler.Schema) plan.Schema {
	if s == nil {
		return plan.Schema{Type: "bytes"}
	}
	ps := plan.Schema{Type: string(s.Kind), File: s.File, Message: s.Message}
	if s.Kind == compiler.SchemaJSON && s.Record != nil {
		ps.Definition = avroSchema(s.Record)
	}
	return ps
}

// Hash is a digest of everything a component's instances behave by: all
// of it but the replica counts and the hash itself. Rescaling a component
// keeps its hash, and so restarts nothing.
func Hash(c plan.Component) string {
	c.Hash, c.Replicas = "", plan.Replicas{}
	b, err := json.Marshal(c)
	if err != nil {
		panic(fmt.Sprintf("planner: a component does not encode: %v", err)) // config holds only JSON values
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:8])
}
