package meshtest

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/meshc/meshc/compiler"
	"github.com/meshc/meshc/lang"
	"github.com/meshc/meshc/planner"
	"github.com/meshc/meshc/planner/plan"
)

// DefaultTimeout bounds a case that sets no timeout of its own, unless
// Options.Timeout says otherwise: the time from its first message sent to
// its last function settled.
const DefaultTimeout = 60 * time.Second

// MeshFor names the mesh file a test file tests in a folder of several
// meshes: NAME.mesh beside NAME.meshtest.
func MeshFor(testFile string) string {
	return strings.TrimSuffix(testFile, lang.TestExt) + ".mesh"
}

// Load reads a test file and the mesh it tests, and checks every case
// against the mesh: topics, values, parameters and functions. All the
// problems found come back at once as a *LoadError; nothing runs.
//
// The mesh is its folder's: the folder's .mesh files make one mesh when
// one of them declares it, as a Go package's files do, and every test file
// of the folder tests it; in a folder of several meshes, NAME.meshtest
// tests NAME.mesh.
func Load(path string) (*Suite, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	s := &Suite{File: path, Sources: lang.Sources{path: src}}
	f, diags := lang.ParseTests(path, src)
	if diags.HasErrors() {
		return nil, &LoadError{Sources: s.Sources, Diags: diags}
	}
	files, err := s.readMesh()
	if err != nil {
		return nil, err
	}
	l := &loader{suite: s, mesh: files, params: declaredParams(files), meshDiags: map[string]bool{}}
	seen := map[string]lang.Pos{}
	for _, d := range f.Decls {
		t := d.(*lang.Test)
		if first, dup := seen[t.Name.Name]; dup {
			l.errorf(t.Name.Span, "a second test named %s", t.Name.Name).WithHint("the first is at %d:%d; give each case its own name", first.Line(), first.Column())
			continue
		}
		seen[t.Name.Name] = t.Name.Start()
		if c := l.testCase(t); c != nil {
			s.Cases = append(s.Cases, c)
		}
	}
	if l.diags.HasErrors() {
		l.diags.Sort()
		return nil, &LoadError{Sources: s.Sources, Diags: l.diags}
	}
	return s, nil
}

// readMesh finds, reads and parses the mesh the suite's file tests, and
// sets s.Mesh and s.MeshFiles.
func (s *Suite) readMesh() ([]*lang.File, error) {
	dir := filepath.Dir(s.File)
	names, err := meshFilesIn(dir)
	if err != nil {
		return nil, fmt.Errorf("%s: %w: %w", s.File, ErrNoMesh, err)
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("%s: %w: write the mesh beside it, as %s or any NAME.mesh in %s", s.File, ErrNoMesh, MeshFor(s.File), dir)
	}
	files := make([]*lang.File, len(names))
	fileDiags := make([]lang.Diagnostics, len(names))
	var diags lang.Diagnostics
	meshes := 0
	for i, n := range names {
		src, err := os.ReadFile(n)
		if err != nil {
			return nil, fmt.Errorf("%s: reading its mesh: %w", s.File, err)
		}
		s.Sources[n] = src
		f, ds := lang.Parse(n, src)
		files[i], fileDiags[i], diags = f, ds, append(diags, ds...)
		if declaresMesh(f) {
			meshes++
		}
	}
	switch own := MeshFor(s.File); {
	case len(names) == 1:
		s.Mesh = names[0]
	case meshes == 1:
		s.Mesh = dir
	case slices.Contains(names, own):
		i := slices.Index(names, own)
		s.Mesh, names, files, diags = own, names[i:i+1], files[i:i+1], fileDiags[i]
	case diags.HasErrors():
		// Which mesh is meant cannot be told until the files parse.
	default:
		return nil, fmt.Errorf("%s: %w: its folder holds %d meshes and none is %s: name the test file after the mesh it tests", s.File, ErrNoMesh, meshes, own)
	}
	if diags.HasErrors() {
		return nil, &LoadError{Sources: s.Sources, Diags: diags}
	}
	s.MeshFiles = names
	return files, nil
}

// meshFilesIn lists a folder's .mesh files in name order.
func meshFilesIn(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range entries {
		if n := e.Name(); !e.IsDir() && strings.HasSuffix(n, ".mesh") {
			names = append(names, filepath.Join(dir, n))
		}
	}
	return names, nil // ReadDir sorts by name
}

func declaresMesh(f *lang.File) bool {
	return slices.ContainsFunc(f.Decls, func(d lang.Decl) bool { _, ok := d.(*lang.Mesh); return ok })
}

type loader struct {
	suite  *Suite
	mesh   []*lang.File
	params map[string]string // declared: name -> type
	diags  lang.Diagnostics
	// meshDiags are the mesh's own errors reported so far.
	meshDiags map[string]bool
}

func (l *loader) errorf(at lang.Span, format string, args ...any) *lang.Diagnostic {
	d := lang.Errorf(at.Start(), at.End(), format, args...)
	l.diags = append(l.diags, d)
	return d
}

func declaredParams(files []*lang.File) map[string]string {
	declared := map[string]string{}
	for _, f := range files {
		for _, d := range f.Decls {
			if p, ok := d.(*lang.Param); ok && p.Type.Name != nil {
				declared[p.Name.Name] = p.Type.Name.Parts[0].Name
			}
		}
	}
	return declared
}

// caseAttrs are the attributes a test case takes, in SPEC.md's order.
var caseAttrs = []string{"timeout", "params", "state", "send", "expect", "expect_state", "nothing_else"}

// testCase checks one case; nil when it has errors.
func (l *loader) testCase(t *lang.Test) *Case {
	before := len(l.diags)
	c := &Case{Name: t.Name.Name, Pos: t.Name.Start(), Params: map[string]string{}}
	attrs := map[string]*lang.Attr{}
	for _, a := range t.Body.Attrs {
		if !slices.Contains(caseAttrs, a.Key().Name) {
			l.errorf(a.Key().Span, "unknown test attribute %q", a.Key().Name).WithHint("a test case takes: %s", strings.Join(caseAttrs, ", "))
			continue
		}
		if first, dup := attrs[a.Key().Name]; dup {
			l.errorf(a.Key().Span, "%s is given twice in test %s", a.Key().Name, c.Name).WithHint("merge it with the one at %d:%d", first.Start().Line(), first.Start().Column())
			continue
		}
		attrs[a.Key().Name] = a
	}
	if a := attrs["timeout"]; a != nil {
		c.Timeout = l.duration(a.Value())
	}
	if a := attrs["nothing_else"]; a != nil {
		c.NothingElse = l.boolean(a.Value())
	}
	if a := attrs["params"]; a != nil {
		l.caseParams(c, a.Value())
	}
	if len(l.diags) > before {
		return nil
	}
	c.Plan = l.compile(c, t)
	if c.Plan == nil {
		return nil
	}
	tc := &topicCheck{loader: l, plan: c.Plan, writers: writers(c.Plan)}
	if a := attrs["state"]; a != nil {
		c.State = tc.state(a.Value(), "state")
	}
	if a := attrs["send"]; a != nil {
		c.Sends = tc.sends(a.Value())
	}
	if a := attrs["expect"]; a != nil {
		c.Expects = tc.expects(a.Value())
	}
	if a := attrs["expect_state"]; a != nil {
		c.StateWants = tc.state(a.Value(), "expect_state")
	}
	if len(l.diags) > before {
		return nil
	}
	return c
}

func (l *loader) duration(v *lang.Value) time.Duration {
	if v.Lit() != lang.DurationLit {
		l.errorf(v.Span, "want a duration, such as 30s")
		return 0
	}
	d, err := time.ParseDuration(v.Text())
	if err != nil || d <= 0 {
		l.errorf(v.Span, "want a positive duration, such as 30s")
	}
	return d
}

func (l *loader) boolean(v *lang.Value) bool {
	if v.Lit() != lang.BoolLit {
		l.errorf(v.Span, "want true or false")
		return false
	}
	return v.Text() == "true"
}

// object returns the attributes of an object value, or reports what was
// wanted instead.
func (l *loader) object(v *lang.Value, what string) []*lang.Attr {
	if v.Object() == nil {
		l.errorf(v.Span, "%s takes a block: %s { ... }", what, what)
		return nil
	}
	return v.Object().Attrs
}

func (l *loader) caseParams(c *Case, v *lang.Value) {
	for _, a := range l.object(v, "params") {
		typ, ok := l.params[a.Key().Name]
		if !ok {
			names := slices.Sorted(maps.Keys(l.params))
			l.errorf(a.Key().Span, "mesh %s has no parameter %q", l.meshName(), a.Key().Name).WithHint("it declares: %s", orNone(names))
			continue
		}
		text, ok := a.Value().LiteralText()
		if !ok {
			l.errorf(a.Value().Span, "parameter %s: want a single value, such as 3 or \"prod\"", a.Key().Name)
			continue
		}
		if _, err := compiler.ParseParam(compiler.ParamType(typ), text); err != nil {
			l.errorf(a.Value().Span, "parameter %s: %v", a.Key().Name, err)
			continue
		}
		c.Params[a.Key().Name] = text
	}
}

func orNone(names []string) string {
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}

func (l *loader) meshName() string {
	for _, f := range l.mesh {
		for _, d := range f.Decls {
			if m, ok := d.(*lang.Mesh); ok {
				return m.Name.Name
			}
		}
	}
	return filepath.Base(l.suite.Mesh)
}

// compile compiles the mesh with the case's parameters. The mesh's own
// errors are reported where they are, and the case's name where it uses
// them.
func (l *loader) compile(c *Case, t *lang.Test) *plan.Plan {
	m, diags := compiler.Compile(l.mesh, c.Params)
	if diags.HasErrors() {
		for _, d := range diags {
			// Errors that every case's parameters meet are said once.
			if key := d.Error(); !l.meshDiags[key] {
				l.meshDiags[key] = true
				l.diags = append(l.diags, d)
			}
		}
		l.errorf(t.Name.Span, "test %s: the mesh %s does not compile with this case's parameters", c.Name, l.suite.Mesh).WithHint("fix the errors above; meshc check %s shows them too", l.suite.Mesh)
		return nil
	}
	return planner.Plan(m, planner.Options{Source: filepath.ToSlash(l.suite.Mesh)})
}
