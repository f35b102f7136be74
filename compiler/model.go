package compiler

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/dominikbraun/graph"
	"github.com/meshc/meshc/lang"
)

// Mesh is a compiled mesh: every name resolved, every option typed and
// defaulted, and the graph of topics and components. Lists keep declaration
// order (files in the order given), so output built from them is stable.
type Mesh struct {
	Name      string
	Tenant    string
	Namespace string
	Pulsar    *Pulsar   // nil: as the deployment says
	Span      lang.Span // the mesh declaration

	Params     []*Param
	Types      []*Type // named types, in declaration order
	Topics     []*Topic
	Components []*Component // functions, sources and sinks, in declaration order

	// Order lists the components so that every component comes after the
	// writers of the topics it reads (edges into feedback topics aside);
	// ties keep declaration order. It is empty when the mesh has errors.
	Order []*Component

	topics     map[string]*Topic
	components map[string]*Component
	dag        *dag
	graph      graph.Graph[string, string]
	graphOnce  sync.Once
}

// Graph returns the mesh as a graph.Graph: one vertex per topic and
// component (keys from Topic.Key and Component.Key, values the same keys,
// vertex attribute "kind"), and one edge per read or write, with the edge
// attribute "kind" (reads, writes, publishes, log, dead_letter or matches)
// and "schema" (the topic's schema). It is built on first use: the checks
// run on the compiler's own index graph, which is faster and ordered.
func (m *Mesh) Graph() graph.Graph[string, string] {
	m.graphOnce.Do(func() {
		if m.dag == nil {
			m.graph = graph.New(graph.StringHash, graph.Directed())
			return
		}
		m.graph = m.dag.library()
	})
	return m.graph
}

// Topic returns the topic declared with name, or nil.
func (m *Mesh) Topic(name string) *Topic { return m.topics[name] }

// Component returns the function, source or sink declared with name, or nil.
func (m *Mesh) Component(name string) *Component { return m.components[name] }

// Functions returns the functions in declaration order.
func (m *Mesh) Functions() []*Component { return m.ofKind(Function) }

// Sources returns the sources in declaration order.
func (m *Mesh) Sources() []*Component { return m.ofKind(Source) }

// Sinks returns the sinks in declaration order.
func (m *Mesh) Sinks() []*Component { return m.ofKind(Sink) }

func (m *Mesh) ofKind(k Kind) []*Component {
	var out []*Component
	for _, c := range m.Components {
		if c.Kind == k {
			out = append(out, c)
		}
	}
	return out
}

// Param is a declared parameter and the value it is bound to.
type Param struct {
	Name string
	Type ParamType
	// Value is the bound value: int64, float64, string, bool,
	// time.Duration, or int64 bytes for sizes. Nil when unbound.
	Value any
	// Set says the value came from the caller, not from the default.
	Set  bool
	Span lang.Span
}

// ParamType is the type of a parameter.
type ParamType string

const (
	ParamInt      ParamType = "int"
	ParamFloat    ParamType = "float"
	ParamString   ParamType = "string"
	ParamBool     ParamType = "bool"
	ParamDuration ParamType = "duration"
	ParamSize     ParamType = "size"
)

// Topic is a topic of the mesh.
type Topic struct {
	Name string
	// FullName is persistent://TENANT/NAMESPACE/NAME, or the name option.
	FullName   string
	Schema     *Schema
	External   bool
	Partitions int
	// Pattern, when set, makes the topic stand for every topic whose full
	// name it matches; Matches lists those of the mesh.
	Pattern  string
	Matches  []*Topic
	Feedback bool
	Span     lang.Span // the declaration

	Writers []*Component // components whose output, publishes, log or dead_letter is this topic
	Readers []*Component // components that read it

	nameSpan lang.Span
	index    int // vertex index in the compiler's graph
}

// Key is the topic's vertex key in Mesh.Graph.
func (t *Topic) Key() string { return "topic:" + t.Name }

// Kind tells functions, sources and sinks apart.
type Kind string

const (
	Function Kind = "function"
	Source   Kind = "source"
	Sink     Kind = "sink"
)

// Component is a function, source or sink with its resolved options.
type Component struct {
	Kind Kind
	Name string
	Impl Impl
	// Inputs are the topics read (none for a source); Output is the topic
	// written (nil for a sink or a function without output).
	Inputs []*Topic
	Output *Topic
	// In and Out are the schemas the implementation reads and writes: from
	// accepts and returns, the built-in's signature, or the topics.
	In, Out *Schema
	Options Options
	Span    lang.Span // the declaration

	nameSpan   lang.Span
	inputSpans []lang.Span // parallel to Inputs
	outputSpan lang.Span
	configAttr *lang.Attr // the config option applied, for its positions; nil once Compile returns
	wrote      []*Topic   // topics it writes, each once
	index      int
}

// Key is the component's vertex key in Mesh.Graph.
func (c *Component) Key() string { return string(c.Kind) + ":" + c.Name }

// Impl is what a component runs.
type Impl struct {
	Kind ImplKind
	// Name is the built-in's or the registered Go function's name.
	Name string
	// Command is the executable and its arguments, for exec.
	Command []string
	// Module is the WebAssembly module's path, for wasm.
	Module string
	Span   lang.Span
}

// String is the implementation as use writes it: builtin.upper,
// go("Score"), exec("./score", "--fast") or wasm("score.wasm").
func (i Impl) String() string {
	switch i.Kind {
	case ImplBuiltin:
		return "builtin." + i.Name
	case ImplGo:
		return fmt.Sprintf("go(%q)", i.Name)
	case ImplExec:
		quoted := make([]string, len(i.Command))
		for j, a := range i.Command {
			quoted[j] = strconv.Quote(a)
		}
		return "exec(" + strings.Join(quoted, ", ") + ")"
	case ImplWasm:
		return fmt.Sprintf("wasm(%q)", i.Module)
	}
	return ""
}

// ImplKind is builtin, go, exec or wasm.
type ImplKind string

const (
	ImplBuiltin ImplKind = "builtin"
	ImplGo      ImplKind = "go"
	ImplExec    ImplKind = "exec"
	ImplWasm    ImplKind = "wasm"
)

// Options are a component's settings after mesh.defaults and the built-in
// defaults are applied.
type Options struct {
	// Replicas is the fixed instance count; when MaxReplicas > 0 an
	// autoscaler keeps the count between MinReplicas and MaxReplicas.
	Replicas    int
	MinReplicas int
	MaxReplicas int

	Guarantee      Guarantee
	Subscription   Subscription
	CPU            float64 // cores, 0 when unset
	Memory         int64   // bytes, 0 when unset
	Timeout        time.Duration
	MaxRetries     int // -1 when unset
	RetainOrdering bool
	State          bool
	Log            *Topic
	DeadLetter     *Topic
	Publishes      []*Topic
	// Config holds string, int64, float64, bool, []any and map[string]any
	// values; durations and sizes keep their text ("30s", "512Mi"). Its
	// keys are in order; nil when the component has no config.
	Config  Config
	Secrets map[string]Secret
	// Sandbox limits a wasm function; nil for the defaults.
	Sandbox *Sandbox

	// Set says where each option key given in the component's body or in
	// mesh.defaults was written.
	Set OptionSpans
}

// OptionSpans maps option keys to where they were written. A component
// sets a handful of options: a list searched in order is smaller and
// quicker to fill than a map.
type OptionSpans []OptionSpan

// OptionSpan is where one option key was written.
type OptionSpan struct {
	Key  string
	Span lang.Span
}

// Get returns where key was written, if it was.
func (s OptionSpans) Get(key string) (lang.Span, bool) {
	for _, o := range s {
		if o.Key == key {
			return o.Span, true
		}
	}
	return lang.Span{}, false
}

// At returns where key was written, or no span if it was not.
func (s OptionSpans) At(key string) lang.Span {
	span, _ := s.Get(key)
	return span
}

// set records where key was written, in place of where it was before
// (mesh.defaults, then the component's own body).
func (s *OptionSpans) set(key string, span lang.Span) {
	for i := range *s {
		if (*s)[i].Key == key {
			(*s)[i].Span = span
			return
		}
	}
	*s = append(*s, OptionSpan{key, span})
}

// Guarantee is a processing guarantee.
type Guarantee string

const (
	AtMostOnce      Guarantee = "at_most_once"
	AtLeastOnce     Guarantee = "at_least_once"
	EffectivelyOnce Guarantee = "effectively_once"
)

// Subscription is how a component's instances share their inputs.
type Subscription struct {
	Name     string
	Type     string // exclusive, shared, failover or key_shared
	Position string // latest or earliest
}

// Sandbox limits what a WebAssembly function may use.
type Sandbox struct {
	Memory int64         // bytes of linear memory per module instance; 0 for the default
	Time   time.Duration // per call; 0 for the default
	Dirs   []string      // host folders the module may read, mounted at the same paths
}

// Secret refers to a value in the deployment's secret store.
type Secret struct {
	Path string
	Key  string
}

// Where is the place in the source of a component's option, by the key
// the mesh writes it with ("min_replicas", "secrets.token"), or of the
// component's name when option is "" or was not written; of the mesh's
// name for kind "mesh". False when the mesh has no such component.
func (m *Mesh) Where(kind, component, option string) (lang.Span, bool) {
	return m.Places().Where(kind, component, option)
}

// Places are where a mesh's parts were written, without the rest of the
// mesh: what places a backend's errors in the source after the mesh, a
// tenth of its memory, is let go.
type Places struct {
	mesh  lang.Span
	comps []placed
}

// placed is where a component's name and options were written.
type placed struct {
	kind    Kind
	name    string
	span    lang.Span
	options OptionSpans
}

// Places returns where the mesh's parts were written.
func (m *Mesh) Places() *Places {
	ps := &Places{mesh: m.Span, comps: make([]placed, len(m.Components))}
	for i, c := range m.Components {
		ps.comps[i] = placed{c.Kind, c.Name, c.nameSpan, c.Options.Set}
	}
	return ps
}

// Where is Mesh.Where.
func (ps *Places) Where(kind, component, option string) (lang.Span, bool) {
	if kind == "mesh" {
		return ps.mesh, true
	}
	for _, c := range ps.comps {
		if c.name != component || string(c.kind) != kind {
			continue
		}
		if s, ok := c.options.Get(option); ok && option != "" {
			return s, true
		}
		return c.span, true
	}
	return lang.Span{}, false
}
