package compiler

import (
	"slices"

	"github.com/meshc/meshc/lang"
)

// Compile resolves and checks the declarations of files, which together
// describe one mesh, with parameter values given as text (from -p
// NAME=VALUE) and typed by their declarations. It reports every problem
// it finds, sorted by position. The mesh is returned even when there are
// errors, as far as it could be resolved; use it only if
// !diags.HasErrors().
func Compile(files []*lang.File, params map[string]string) (*Mesh, lang.Diagnostics) {
	c := newCompiler()
	c.collect(files)
	c.resolveMesh()
	c.resolveParams(params)
	c.resolvePulsar()
	c.resolveTypes()
	c.resolveTopics()
	c.resolveComponents()
	c.checkSchemas()
	c.buildGraph()
	c.diags.Sort()
	c.letGoOfSyntax()
	return c.mesh, c.diags
}

// letGoOfSyntax drops the model's last pointers into the syntax tree, which
// only the checks needed: the model outlives the tree, and a pointer to one
// node would keep the whole tree alive (its nodes are allocated in blocks).
func (c *compiler) letGoOfSyntax() {
	for _, comp := range c.mesh.Components {
		comp.configAttr = nil
	}
}

// compiler holds the state of one Compile call.
type compiler struct {
	diags lang.Diagnostics
	mute  int // > 0 while mesh.defaults are applied again per component
	mesh  *Mesh

	firstFile  string // where a missing mesh declaration is reported
	meshDecls  []*lang.Mesh
	paramDecls map[string]*lang.Param
	paramOrder []*lang.Param
	params     map[string]*Param
	types      *typeResolver
	typeOrder  []*lang.TypeDecl
	topicDecls []*lang.Topic
	compDecls  []lang.Decl // functions, sources and sinks
	// The mesh's topics and components, in the order of their
	// declarations: collect names them, resolveTopics and
	// resolveComponents fill them in.
	topicBlock []Topic
	compBlock  []Component
	// renamedTopics: a topic's name option set its full name.
	renamedTopics bool

	defaultAttrs []*lang.Attr
	defaultsSpan lang.Span
	pulsarAttr   *lang.Attr // the mesh's pulsar block

	// Where the components' short lists are cut from (see slab).
	configs     slab[ConfigEntry]
	topicLists  slab[*Topic]
	spanLists   slab[lang.Span]
	optionSets  slab[OptionSpan]
	valueLists  slab[any]
	compLists   slab[*Component]
	edgeLists   slab[edge]
	stringLists slab[string]
	schemas     slab[Schema]
	texts       textSlab
}

func newCompiler() *compiler {
	c := &compiler{
		mesh:       &Mesh{},
		paramDecls: map[string]*lang.Param{},
		params:     map[string]*Param{},
	}
	c.types = &typeResolver{c: c, named: map[string]*Type{}, decls: map[string]*lang.TypeDecl{}, busy: map[string]bool{}}
	return c
}

func (c *compiler) add(d *lang.Diagnostic) *lang.Diagnostic {
	if c.mute == 0 {
		c.diags = append(c.diags, d)
	}
	return d
}

func (c *compiler) errorf(s lang.Span, format string, args ...any) *lang.Diagnostic {
	return c.add(lang.Errorf(s.Start(), s.End(), format, args...))
}

func (c *compiler) warnf(s lang.Span, format string, args ...any) *lang.Diagnostic {
	return c.add(lang.Warningf(s.Start(), s.End(), format, args...))
}

// suggest adds "did you mean" to d when a candidate is close to name.
func (c *compiler) suggest(d *lang.Diagnostic, name string, candidates []string) {
	if best := closest(name, candidates); best != "" {
		if d.Hint != "" {
			d.Hint = "did you mean " + best + "? " + d.Hint
		} else {
			d.Hint = "did you mean " + best + "?"
		}
	}
}

// duplicate reports a second declaration of a name, pointing at the first.
func (c *compiler) duplicate(second *lang.Ident, first lang.Span, what string) {
	d := c.errorf(second.Span, "%s %s is declared twice", what, second.Name).WithHint("rename or remove one of them")
	d.Related = append(d.Related, lang.Related{Pos: first.Start(), End: first.End(), Message: "first declared here"})
}

// collect sorts the declarations by kind and reports duplicate names.
// Functions, sources and sinks share one namespace: Pulsar names them all
// TENANT/NAMESPACE/NAME. The mesh's topics and components are made here,
// named and placed but otherwise empty, so that its maps of them are what
// finds a name declared twice: a map of each kind's declarations made for
// that alone was as large again.
func (c *compiler) collect(files []*lang.File) {
	topics, comps := 0, 0
	for _, f := range files {
		for _, d := range f.Decls {
			switch d.(type) {
			case *lang.Topic:
				topics++
			case *lang.Function, *lang.Source, *lang.Sink:
				comps++
			}
		}
	}
	m := c.mesh
	m.topics, m.components = make(map[string]*Topic, topics), make(map[string]*Component, comps)
	topicBlock, compBlock := make([]Topic, topics), make([]Component, comps) // one allocation each
	c.topicDecls, c.compDecls = make([]*lang.Topic, 0, topics), make([]lang.Decl, 0, comps)
	seenParam := map[string]*lang.Ident{}
	seenType := map[string]*lang.Ident{}
	check := func(seen map[string]*lang.Ident, id *lang.Ident, what string) bool {
		if first, dup := seen[id.Name]; dup {
			c.duplicate(id, first.Span, what)
			return false
		}
		seen[id.Name] = id
		return true
	}
	if len(files) > 0 {
		c.firstFile = files[0].Name
	}
	for _, f := range files {
		for _, d := range f.Decls {
			switch d := d.(type) {
			case *lang.Mesh:
				c.meshDecls = append(c.meshDecls, d)
			case *lang.Param:
				if check(seenParam, d.Name, "param") {
					c.paramDecls[d.Name.Name] = d
					c.paramOrder = append(c.paramOrder, d)
				}
			case *lang.TypeDecl:
				if c.builtinTypeName(d.Name) && check(seenType, d.Name, "type") {
					c.types.decls[d.Name.Name] = d
					c.typeOrder = append(c.typeOrder, d)
				}
			case *lang.Topic:
				if first, dup := m.topics[d.Name.Name]; dup {
					c.duplicate(d.Name, first.nameSpan, "topic")
					continue
				}
				t := &topicBlock[len(c.topicDecls)]
				t.Name, t.nameSpan = d.Name.Name, d.Name.Span
				m.topics[t.Name] = t
				c.topicDecls = append(c.topicDecls, d)
			case *lang.Function, *lang.Source, *lang.Sink:
				kind, name, _, _, _, _ := declParts(d)
				if first, dup := m.components[name.Name]; dup {
					c.nameTaken(kind, name, first)
					continue
				}
				comp := &compBlock[len(c.compDecls)]
				comp.Kind, comp.Name, comp.nameSpan = kind, name.Name, name.Span
				m.components[comp.Name] = comp
				c.compDecls = append(c.compDecls, d)
			}
		}
	}
	c.topicBlock, c.compBlock = topicBlock[:len(c.topicDecls)], compBlock[:len(c.compDecls)]
}

// nameTaken reports a function, source or sink named as first, declared
// before it: they share one namespace, as Pulsar names them all
// TENANT/NAMESPACE/NAME.
func (c *compiler) nameTaken(kind Kind, name *lang.Ident, first *Component) {
	if first.Kind == kind {
		c.duplicate(name, first.nameSpan, string(kind))
		return
	}
	diag := c.errorf(name.Span, "%s %s has the name of %s %s", kind, name.Name, first.Kind, name.Name).WithHint(
		"functions, sources and sinks share one namespace, as Pulsar names them all TENANT/NAMESPACE/NAME; rename one")
	diag.Related = append(diag.Related, lang.Related{Pos: first.nameSpan.Start(), End: first.nameSpan.End(), Message: "first declared here"})
}

// builtinTypeName reports a type declaration that would hide a built-in
// type name, and returns false for it.
func (c *compiler) builtinTypeName(id *lang.Ident) bool {
	reserved := append([]string{"list", "map", "json", "avro", "protobuf"}, schemaKinds...)
	for _, k := range scalarKinds {
		reserved = append(reserved, string(k))
	}
	if slices.Contains(reserved, id.Name) {
		c.errorf(id.Span, "type %s hides the built-in type of that name", id.Name).WithHint("choose another name")
		return false
	}
	return true
}

// resolveMesh checks that there is exactly one mesh declaration and reads
// its settings.
func (c *compiler) resolveMesh() {
	m := c.mesh
	m.Tenant, m.Namespace = "public", "default"
	if len(c.meshDecls) == 0 {
		start := lang.NewPos(c.firstFile, 0, 1, 1)
		c.add(lang.Errorf(start, start, "no mesh declaration").WithHint(`start the file with: mesh NAME { tenant = "public" namespace = "default" }`))
		return
	}
	first := c.meshDecls[0]
	for _, d := range c.meshDecls[1:] {
		diag := c.errorf(d.Name.Span, "a second mesh declaration: %s", d.Name.Name).WithHint("a mesh has exactly one mesh declaration; merge them or split the files")
		diag.Related = append(diag.Related, lang.Related{Pos: first.Name.Start(), End: first.Name.End(), Message: "first mesh declaration"})
	}
	m.Name, m.Span = first.Name.Name, first.Span
	for _, a := range c.attrs(first.Body, "mesh", []string{"tenant", "namespace", "defaults", "pulsar"}) {
		switch a.Key().Name {
		case "tenant", "namespace":
			if s, ok := c.stringValue(a); ok {
				if p := checkPulsarName(s); p != "" {
					c.errorf(a.Value().Span, "invalid %s name: %s", a.Key().Name, p)
				}
				if a.Key().Name == "tenant" {
					m.Tenant = s
				} else {
					m.Namespace = s
				}
			}
		case "pulsar":
			c.pulsarAttr = a // read once the parameters are known
		case "defaults":
			if obj := c.objectValue(a); obj != nil {
				c.defaultAttrs = c.attrs(obj, "mesh.defaults", defaultKeys)
				c.defaultsSpan = obj.Span
			}
		}
	}
}

// attrs returns the attributes of an object whose keys are known, and
// reports unknown and repeated keys.
func (c *compiler) attrs(obj *lang.Object, where string, keys []string) []*lang.Attr {
	if obj == nil {
		return nil
	}
	if len(obj.Attrs) <= fewKeys && distinctKeys(obj.Attrs) && knownKeys(obj.Attrs, keys) {
		return obj.Attrs // the usual body: nothing to report, so no copy
	}
	var out []*lang.Attr
	if len(obj.Attrs) > 0 {
		out = make([]*lang.Attr, 0, len(obj.Attrs))
	}
	for _, a := range obj.Attrs {
		name := a.Key().Name
		if !slices.Contains(keys, name) {
			d := c.errorf(a.Key().Span, "unknown option %s in %s", name, where)
			c.suggest(d, name, keys)
			if d.Hint == "" {
				d.Hint = "options here: " + joinNames(keys)
			}
			continue
		}
		// out holds each known key once at most: a short list to search.
		if i := slices.IndexFunc(out, func(x *lang.Attr) bool { return x.Key().Name == name }); i >= 0 {
			first := out[i]
			d := c.errorf(a.Key().Span, "option %s is set twice", name).WithHint("remove one of them")
			d.Related = append(d.Related, lang.Related{Pos: first.Key().Start(), End: first.Key().End(), Message: "first set here"})
			continue
		}
		out = append(out, a)
	}
	return out
}

// fewKeys is how many attributes an object may have for its keys to be
// checked for repeats by a search, which spares a copy or a map for most
// objects.
const fewKeys = 16

// distinctKeys reports whether no two of attrs have the same key.
func distinctKeys(attrs []*lang.Attr) bool {
	for i, a := range attrs {
		for _, b := range attrs[:i] {
			if a.Key().Name == b.Key().Name {
				return false
			}
		}
	}
	return true
}

// knownKeys reports whether every key of attrs is one of keys.
func knownKeys(attrs []*lang.Attr, keys []string) bool {
	for _, a := range attrs {
		if !slices.Contains(keys, a.Key().Name) {
			return false
		}
	}
	return true
}
