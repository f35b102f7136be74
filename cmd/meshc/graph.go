package main

import (
	"bufio"
	"fmt"
	"io"
	"strings"

	"github.com/meshc/meshc/compiler"
	"github.com/meshc/meshc/lang"
	"github.com/spf13/cobra"
)

func newGraphCmd() *cobra.Command {
	var format string
	var pf paramFlags
	cmd := &cobra.Command{
		Use:   "graph [--format dot|mermaid] [-p NAME=VALUE]... [--params FILE]... FILE|DIR",
		Short: "Draw a mesh's topics and components",
		Long: `graph checks FILE and prints its graph: topics, the functions, sources and sinks
between them, and the schema on every edge. dot is Graphviz's format (render it with
dot -Tsvg); mermaid is a flowchart that GitHub renders inside a fenced mermaid block.
The output depends only on the file, so it can be committed and diffed. Log and
dead-letter edges are dashed; a pattern topic gets a dotted edge from each topic it
matches. A file with errors prints them instead, with exit status 1. Parameters
are given as for plan.`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: meshFiles,
		RunE: func(cmd *cobra.Command, args []string) error {
			draw, ok := graphFormats[format]
			if !ok {
				return usageErrorf("--format %q: use dot or mermaid", format)
			}
			name := args[0]
			sources := lang.Sources{}
			m, diags, err := checkMesh(cmd, name, sources, &pf)
			if err != nil {
				return err
			}
			if diags.HasErrors() {
				sources.Render(cmd.ErrOrStderr(), diags)
				return failed()
			}
			// Buffered: a large mesh draws hundreds of thousands of lines.
			out := bufio.NewWriter(cmd.OutOrStdout())
			draw(out, m)
			return out.Flush()
		},
	}
	cmd.Flags().StringVar(&format, "format", "dot", "output format: dot or mermaid")
	pf.register(cmd)
	return cmd
}

var graphFormats = map[string]func(io.Writer, *compiler.Mesh){
	"dot":     writeDOT,
	"mermaid": writeMermaid,
}

// graphEdge is one edge to draw, in the order of the mesh's declarations.
type graphEdge struct {
	from, to string // vertex keys
	label    string // the schema of the topic at either end
	style    string // solid, dashed (log, dead letter) or dotted (pattern match)
}

// graphEdges lists the edges: for each component in declaration order its
// inputs, output, publish targets, log and dead-letter topics; then the
// pattern matches.
func graphEdges(m *compiler.Mesh) []graphEdge {
	var out []graphEdge
	schema := func(s *compiler.Schema) string {
		if s == nil {
			return ""
		}
		return s.String()
	}
	for _, c := range m.Components {
		for _, t := range c.Inputs {
			out = append(out, graphEdge{t.Key(), c.Key(), schema(t.Schema), "solid"})
		}
		if t := c.Output; t != nil {
			out = append(out, graphEdge{c.Key(), t.Key(), schema(t.Schema), "solid"})
		}
		for _, t := range c.Options.Publishes {
			out = append(out, graphEdge{c.Key(), t.Key(), schema(t.Schema), "solid"})
		}
		if t := c.Options.Log; t != nil {
			out = append(out, graphEdge{c.Key(), t.Key(), "log", "dashed"})
		}
		if t := c.Options.DeadLetter; t != nil {
			out = append(out, graphEdge{c.Key(), t.Key(), "dead letter", "dashed"})
		}
	}
	for _, p := range m.Topics {
		for _, t := range p.Matches {
			out = append(out, graphEdge{t.Key(), p.Key(), "matches", "dotted"})
		}
	}
	return out
}

func componentLabel(c *compiler.Component) string {
	return fmt.Sprintf("%s %s\n%s", c.Kind, c.Name, c.Impl)
}

func topicLabel(t *compiler.Topic) string {
	label := t.Name
	switch {
	case t.Pattern != "":
		label += "\n(pattern)"
	case t.External:
		label += "\n(external)"
	}
	return label
}

func writeDOT(w io.Writer, m *compiler.Mesh) {
	q := func(s string) string { return fmt.Sprintf("%q", s) }
	fmt.Fprintf(w, "digraph %s {\n", q(m.Name))
	fmt.Fprintln(w, "  rankdir=LR;")
	fmt.Fprintln(w, `  node [fontname="Helvetica"];`)
	fmt.Fprintln(w, `  edge [fontname="Helvetica", fontsize=10];`)
	for _, t := range m.Topics {
		fmt.Fprintf(w, "  %s [label=%s, shape=ellipse];\n", q(t.Key()), q(topicLabel(t)))
	}
	shapes := map[compiler.Kind]string{compiler.Function: "box", compiler.Source: "invhouse", compiler.Sink: "house"}
	for _, c := range m.Components {
		fmt.Fprintf(w, "  %s [label=%s, shape=%s];\n", q(c.Key()), q(componentLabel(c)), shapes[c.Kind])
	}
	for _, e := range graphEdges(m) {
		attrs := "label=" + q(e.label)
		if e.style != "solid" {
			attrs += ", style=" + e.style
		}
		fmt.Fprintf(w, "  %s -> %s [%s];\n", q(e.from), q(e.to), attrs)
	}
	fmt.Fprintln(w, "}")
}

func writeMermaid(w io.Writer, m *compiler.Mesh) {
	fmt.Fprintln(w, "flowchart LR")
	for _, t := range m.Topics {
		fmt.Fprintf(w, "  %s([%s])\n", mermaidID(t.Key()), mermaidText(topicLabel(t)))
	}
	shapes := map[compiler.Kind][2]string{compiler.Function: {"[", "]"}, compiler.Source: {"[/", "/]"}, compiler.Sink: {"[\\", "\\]"}}
	for _, c := range m.Components {
		s := shapes[c.Kind]
		fmt.Fprintf(w, "  %s%s%s%s\n", mermaidID(c.Key()), s[0], mermaidText(componentLabel(c)), s[1])
	}
	arrows := map[string]string{"solid": "-->", "dashed": "-.->", "dotted": "-.->"}
	for _, e := range graphEdges(m) {
		fmt.Fprintf(w, "  %s %s|%s| %s\n", mermaidID(e.from), arrows[e.style], mermaidText(e.label), mermaidID(e.to))
	}
}

var (
	mermaidIDs   = strings.NewReplacer(":", "_", "-", "_")
	mermaidTexts = strings.NewReplacer(`"`, "#quot;", "<", "#lt;", ">", "#gt;", "\n", "<br/>")
)

// mermaidID turns a vertex key (function:count) into a Mermaid node id.
func mermaidID(key string) string { return mermaidIDs.Replace(key) }

// mermaidText quotes a label, with Mermaid's entity codes for the
// characters its parser would read as syntax, and <br/> for new lines.
func mermaidText(s string) string { return `"` + mermaidTexts.Replace(s) + `"` }
