package compiler

import (
	"fmt"
	"slices"
	"strings"

	"github.com/dominikbraun/graph"
	"github.com/meshc/meshc/lang"
)

// The graph is kept twice: as adjacency lists over vertex indices for the
// checks, and as a graph.Graph for the model's users, built on demand. The library's cycle
// prevention and topological sort take seconds at 10,000 vertices, and its
// iteration follows Go's map order; index order is declaration order, so
// every check below is fast and deterministic.

// Edge kinds, as in the "kind" attribute of Mesh.Graph's edges.
const (
	EdgeReads      = "reads"
	EdgeWrites     = "writes"
	EdgePublishes  = "publishes"
	EdgeLog        = "log"
	EdgeDeadLetter = "dead_letter"
	EdgeMatches    = "matches" // from a topic to a pattern topic that matches it
)

type edge struct {
	to   int
	kind string
	at   lang.Span // where the edge is written
}

// dag is the index graph: topics first, then components.
type dag struct {
	m     *Mesh
	out   [][]edge
	topic []*Topic     // by index, nil for components
	comp  []*Component // by index, nil for topics
}

func (d *dag) name(v int) string {
	if t := d.topic[v]; t != nil {
		return t.Name
	}
	return d.comp[v].Name
}

func (c *compiler) buildGraph() {
	m := c.mesh
	n := len(m.Topics) + len(m.Components)
	d := &dag{m: m, out: make([][]edge, n), topic: make([]*Topic, n), comp: make([]*Component, n)}
	for i, t := range m.Topics {
		t.index, d.topic[i] = i, t
		d.out[i] = c.edgeLists.take(len(t.Readers)) // room for the reads, added below
		for _, mt := range t.Matches {
			d.out[mt.index] = append(d.out[mt.index], edge{to: i, kind: EdgeMatches, at: t.nameSpan})
		}
	}
	for i, comp := range m.Components {
		v := len(m.Topics) + i
		comp.index, d.comp[v] = v, comp
		for j, t := range comp.Inputs {
			d.out[t.index] = append(d.out[t.index], edge{to: v, kind: EdgeReads, at: comp.inputSpans[j]})
		}
		o := &comp.Options
		d.out[v] = c.edgeLists.take(len(comp.wrote)) // room for the writes, added below
		add := func(t *Topic, kind string, at lang.Span) {
			if t != nil && t.Pattern == "" {
				d.out[v] = append(d.out[v], edge{to: t.index, kind: kind, at: at})
			}
		}
		add(comp.Output, EdgeWrites, comp.outputSpan)
		for _, t := range o.Publishes {
			add(t, EdgePublishes, o.Set.At("publishes"))
		}
		add(o.Log, EdgeLog, o.Set.At("log"))
		add(o.DeadLetter, EdgeDeadLetter, o.Set.At("dead_letter"))
	}
	m.dag = d
	cyclic := c.checkCycles(d)
	c.checkFlow(d)
	if !cyclic && !c.diags.HasErrors() {
		m.Order = d.order()
	}
}

// library builds the graph.Graph of the model, without cycle prevention.
func (d *dag) library() graph.Graph[string, string] {
	g := graph.New(graph.StringHash, graph.Directed())
	key := func(v int) string {
		if t := d.topic[v]; t != nil {
			return t.Key()
		}
		return d.comp[v].Key()
	}
	for v := range d.out {
		kind := "topic"
		if d.comp[v] != nil {
			kind = string(d.comp[v].Kind)
		}
		_ = g.AddVertex(key(v), graph.VertexAttribute("kind", kind))
	}
	for v, es := range d.out {
		for _, e := range es {
			schema := ""
			if t := d.topic[e.to]; t != nil && t.Schema != nil {
				schema = t.Schema.String()
			} else if t := d.topic[v]; t != nil && t.Schema != nil {
				schema = t.Schema.String()
			}
			// A repeated edge (one topic as output and in publishes) is kept once.
			_ = g.AddEdge(key(v), key(e.to), graph.EdgeAttribute("kind", e.kind), graph.EdgeAttribute("schema", schema))
		}
	}
	return g
}

// checkCycles reports cycles. Cycles through a feedback topic are intended
// and reported as warnings; then the edges into feedback topics are set
// aside, and every cycle left is an error. It reports whether errors were
// found.
func (c *compiler) checkCycles(d *dag) bool {
	all := func(edge) bool { return true }
	for _, scc := range d.sccs(all) {
		fb := -1
		for _, v := range scc {
			if t := d.topic[v]; t != nil && t.Feedback {
				fb = v
				break
			}
		}
		if fb < 0 {
			continue
		}
		path := d.cycle(fb, scc, all)
		diag := c.warnf(d.topic[fb].nameSpan, "feedback loop: %s", d.pathText(path)).WithHint("intended, as topic %s says feedback = true", d.topic[fb].Name)
		diag.Related = d.hops(path)
	}
	noFeedback := func(e edge) bool { t := d.topic[e.to]; return t == nil || !t.Feedback }
	cyclic := false
	for _, scc := range d.sccs(noFeedback) {
		start := scc[0] // the first topic in declaration order
		path := d.cycle(start, scc, noFeedback)
		diag := c.errorf(d.topic[start].nameSpan, "topic cycle: %s", d.pathText(path)).WithHint(
			"messages would go round forever; break the cycle, or set feedback = true on one of its topics if the loop is intended")
		diag.Related = d.hops(path)
		cyclic = true
	}
	return cyclic
}

// sccs returns the strongly connected components of more than one vertex
// (a topic and a component always alternate, so there are no self-loops),
// each sorted by index, in order of their smallest index. Tarjan's
// algorithm, iterative, over the edges that keep says to follow.
func (d *dag) sccs(keep func(edge) bool) [][]int {
	// Vertex numbers are int32, as the arrays are as long as the graph:
	// half the memory of ints, for a mesh of many thousands.
	n := len(d.out)
	index, low := make([]int32, n), make([]int32, n)
	onStack := make([]bool, n)
	for i := range index {
		index[i] = -1
	}
	var stack, result [][]int
	var scc []int
	next := int32(0)
	type frame struct{ v, e int32 }
	// The stacks may grow as deep as the graph has vertices (a chain);
	// call and scc are kept from root to root: most components are one vertex.
	call, sstack := make([]frame, 0, n), make([]int32, 0, n)
	for root := range int32(n) {
		if index[root] >= 0 {
			continue
		}
		call = append(call[:0], frame{root, 0})
		index[root], low[root] = next, next
		next++
		sstack = append(sstack, root)
		onStack[root] = true
		for len(call) > 0 {
			f := &call[len(call)-1]
			if out := d.out[f.v]; int(f.e) < len(out) {
				e := out[f.e]
				f.e++
				if !keep(e) {
					continue
				}
				w := int32(e.to)
				if index[w] < 0 {
					index[w], low[w] = next, next
					next++
					sstack = append(sstack, w)
					onStack[w] = true
					call = append(call, frame{w, 0})
				} else if onStack[w] {
					low[f.v] = min(low[f.v], index[w])
				}
				continue
			}
			v := f.v
			call = call[:len(call)-1]
			if len(call) > 0 {
				p := call[len(call)-1].v
				low[p] = min(low[p], low[v])
			}
			if low[v] != index[v] {
				continue
			}
			scc = scc[:0]
			for {
				w := sstack[len(sstack)-1]
				sstack = sstack[:len(sstack)-1]
				onStack[w] = false
				scc = append(scc, int(w))
				if w == v {
					break
				}
			}
			if len(scc) > 1 {
				stack = append(stack, sortInts(slices.Clone(scc)))
			}
		}
	}
	result = stack
	sortByFirst(result)
	return result
}

// cycle returns a shortest path from start back to itself within scc, as
// the edges taken, found breadth-first.
func (d *dag) cycle(start int, scc []int, keep func(edge) bool) []hop {
	in := make(map[int]bool, len(scc))
	for _, v := range scc {
		in[v] = true
	}
	prev := map[int]hop{}
	queue := []int{start}
	for len(queue) > 0 {
		v := queue[0]
		queue = queue[1:]
		for _, e := range d.out[v] {
			if !keep(e) || !in[e.to] {
				continue
			}
			if e.to == start {
				path := []hop{{from: v, e: e}}
				for u := v; u != start; u = prev[u].from {
					path = append(path, prev[u])
				}
				for i, j := 0, len(path)-1; i < j; i, j = i+1, j-1 {
					path[i], path[j] = path[j], path[i]
				}
				return path
			}
			if _, seen := prev[e.to]; !seen && e.to != start {
				prev[e.to] = hop{from: v, e: e}
				queue = append(queue, e.to)
			}
		}
	}
	return nil
}

type hop struct {
	from int
	e    edge
}

func (d *dag) pathText(path []hop) string {
	if len(path) == 0 {
		return ""
	}
	parts := []string{d.name(path[0].from)}
	for _, h := range path {
		parts = append(parts, d.name(h.e.to))
	}
	return strings.Join(parts, " -> ")
}

// hops explains each step of a cycle at the place that makes it.
func (d *dag) hops(path []hop) []lang.Related {
	var out []lang.Related
	for _, h := range path {
		var msg string
		switch h.e.kind {
		case EdgeReads:
			msg = fmt.Sprintf("%s reads %s", d.name(h.e.to), d.name(h.from))
		case EdgeMatches:
			msg = fmt.Sprintf("pattern %s matches %s", d.name(h.e.to), d.name(h.from))
		case EdgeWrites:
			msg = fmt.Sprintf("%s writes %s", d.name(h.from), d.name(h.e.to))
		default:
			msg = fmt.Sprintf("%s writes %s (%s)", d.name(h.from), d.name(h.e.to), h.e.kind)
		}
		out = append(out, lang.Related{Pos: h.e.at.Start(), End: h.e.at.End(), Message: msg})
	}
	return out
}

// checkFlow reports topics nobody writes or reads, and components that no
// message can reach.
func (c *compiler) checkFlow(d *dag) {
	m := d.m
	written := make([]bool, len(d.out)) // by a data edge, not log or dead_letter
	side := make([]bool, len(d.out))
	for _, es := range d.out {
		for _, e := range es {
			switch e.kind {
			case EdgeWrites, EdgePublishes:
				written[e.to] = true
			case EdgeLog, EdgeDeadLetter:
				side[e.to] = true
			}
		}
	}
	matched := make([]bool, len(d.out)) // matched by a pattern that someone reads
	for _, t := range m.Topics {
		if t.Pattern != "" && len(t.Readers) > 0 {
			for _, mt := range t.Matches {
				matched[mt.index] = true
			}
		}
	}
	var unwritten []int
	for _, t := range m.Topics {
		v := t.index
		read := len(t.Readers) > 0 || matched[v]
		switch {
		case t.External:
		case len(t.Readers) > 0 && !written[v] && !side[v]:
			unwritten = append(unwritten, v)
			diag := c.errorf(t.nameSpan, "topic %s is read but never written", t.Name).WithHint(
				"add a source or function that writes it, or mark it external if something outside the mesh does")
			if typo := closest(t.Name, writtenUnread(d, written, matched)); typo != "" {
				diag.Hint = fmt.Sprintf("topic %s is written but never read: did you mean it where %s is read?", typo, t.Name)
			}
			for i, r := range t.Readers {
				if i == 3 {
					break
				}
				at := r.nameSpan
				if j := indexOf(r.Inputs, t); j >= 0 {
					at = r.inputSpans[j]
				}
				diag.Related = append(diag.Related, lang.Related{Pos: at.Start(), End: at.End(), Message: fmt.Sprintf("read by %s %s", r.Kind, r.Name)})
			}
		case written[v] && !read:
			c.warnf(t.nameSpan, "topic %s is written but never read", t.Name).WithHint("add a sink or function that reads it, or mark it external if it is read outside the mesh")
		case !written[v] && !side[v] && !read:
			c.warnf(t.nameSpan, "topic %s is not used", t.Name).WithHint("remove it, or mark it external")
		}
	}
	c.checkReach(d, unwritten)
}

// writtenUnread lists the topics written inside the mesh that nothing
// reads: the likely other half of a misspelt topic name.
func writtenUnread(d *dag, written, matched []bool) []string {
	var out []string
	for _, t := range d.m.Topics {
		if written[t.index] && len(t.Readers) == 0 && !matched[t.index] {
			out = append(out, t.Name)
		}
	}
	return out
}

func indexOf(ts []*Topic, t *Topic) int {
	for i, x := range ts {
		if x == t {
			return i
		}
	}
	return -1
}

// checkReach warns about components that no message can reach: not from a
// source, nor from an external topic. Those behind a topic already
// reported as never written, or behind a component without inputs, are
// left out.
func (c *compiler) checkReach(d *dag, unwritten []int) {
	var roots []int
	for _, t := range d.m.Topics {
		if t.External {
			roots = append(roots, t.index)
		}
	}
	for _, comp := range d.m.Components {
		if comp.Kind == Source {
			roots = append(roots, comp.index)
		}
	}
	reached := d.reach(roots)
	for _, comp := range d.m.Components {
		if comp.Kind != Source && len(comp.Inputs) == 0 {
			unwritten = append(unwritten, comp.index) // reported as reading no topic
		}
	}
	explained := d.reach(unwritten)
	for _, comp := range d.m.Components {
		v := comp.index
		if reached[v] || explained[v] || len(comp.Inputs) == 0 {
			continue
		}
		c.warnf(comp.nameSpan, "%s %s is not reached from any source or external topic", comp.Kind, comp.Name).WithHint(
			"nothing upstream of it starts at a source or an external topic; add a source, or mark an input external")
	}
}

func (d *dag) reach(roots []int) []bool {
	seen := make([]bool, len(d.out))
	stack := append([]int(nil), roots...)
	for _, r := range roots {
		seen[r] = true
	}
	for len(stack) > 0 {
		v := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		for _, e := range d.out[v] {
			if !seen[e.to] {
				seen[e.to] = true
				stack = append(stack, e.to)
			}
		}
	}
	return seen
}

// order is Kahn's algorithm over the graph without the edges into feedback
// topics, taking the smallest ready index first, so that ties keep
// declaration order. It returns the components.
func (d *dag) order() []*Component {
	n := len(d.out)
	indeg := make([]int, n)
	keep := func(e edge) bool { t := d.topic[e.to]; return t == nil || !t.Feedback }
	for _, es := range d.out {
		for _, e := range es {
			if keep(e) {
				indeg[e.to]++
			}
		}
	}
	var ready minHeap
	for v := range n {
		if indeg[v] == 0 {
			ready.push(v)
		}
	}
	out := make([]*Component, 0, len(d.m.Components))
	for len(ready) > 0 {
		v := ready.pop()
		if d.comp[v] != nil {
			out = append(out, d.comp[v])
		}
		for _, e := range d.out[v] {
			if keep(e) {
				if indeg[e.to]--; indeg[e.to] == 0 {
					ready.push(e.to)
				}
			}
		}
	}
	return out
}

// minHeap is a binary heap of vertex indices, the least on top. It is
// container/heap's algorithm on ints, which that package would box into
// interfaces: an allocation for each vertex of a large mesh.
type minHeap []int

func (h *minHeap) push(v int) {
	*h = append(*h, v)
	q := *h
	for i := len(q) - 1; i > 0; {
		parent := (i - 1) / 2
		if q[parent] <= q[i] {
			break
		}
		q[parent], q[i] = q[i], q[parent]
		i = parent
	}
}

func (h *minHeap) pop() int {
	q := *h
	top, last := q[0], len(q)-1
	q[0] = q[last]
	q = q[:last]
	for i := 0; ; {
		least := i
		for _, c := range [2]int{2*i + 1, 2*i + 2} {
			if c < len(q) && q[c] < q[least] {
				least = c
			}
		}
		if least == i {
			break
		}
		q[i], q[least] = q[least], q[i]
		i = least
	}
	*h = q
	return top
}
