package meshgen

import (
	"fmt"
	"strings"
)

// Shape is how the generated functions are wired.
type Shape string

const (
	// Chain: a source, then f0 -> t1 -> f1 -> ... -> a sink.
	Chain Shape = "chain"
	// FanOut: a source writes one topic that every function reads; each
	// function writes an external topic of its own.
	FanOut Shape = "fanout"
	// FanIn: every function reads an external topic of its own and all
	// write one topic, which a sink reads.
	FanIn Shape = "fanin"
	// Mixed: a chain where every odd function also reads the topic of the
	// function halfway back, about 1.5 edges per function.
	Mixed Shape = "mixed"
)

// Shapes lists every shape.
var Shapes = []Shape{Chain, FanOut, FanIn, Mixed}

// Generate writes a mesh of n functions of the given shape, each with the
// options a real mesh uses. The mesh checks clean.
func Generate(shape Shape, n int) []byte {
	return []byte(strings.Join(Files(shape, n, n+1), ""))
}

// Files writes the mesh Generate writes as several files of at most per
// functions each, as a very large mesh would be kept (a file of 100,000
// functions would pass the parser's size limit). The first file declares
// the mesh, the last the topics.
func Files(shape Shape, n, per int) []string {
	var files []string
	var b strings.Builder
	b.WriteString("mesh bench {\n  tenant = \"acme\"\n  namespace = \"bench\"\n  defaults {\n    memory = 128Mi\n  }\n}\n\n")
	b.WriteString("param replicas int = 2\n\n")
	b.WriteString("type Event {\n  id string\n  amount float64\n  tags list<string>?\n}\n\n")
	for i := range n {
		if i > 0 && i%per == 0 {
			files = append(files, b.String())
			b.Reset()
		}
		in, out := wiring(shape, i)
		fmt.Fprintf(&b, `// f%[1]d enriches events.
function f%[1]d(%[2]s) -> %[3]s {
  use = go("Enrich")
  replicas = param.replicas
  guarantee = at_least_once
  timeout = 30s
  config {
    region = "eu-west-%[1]d"
    fields = ["id", "amount"]
  }
}

`, i, in, out)
	}
	topics(&b, shape, n)
	return append(files, b.String())
}

// wiring returns function i's inputs and output.
func wiring(shape Shape, i int) (string, string) {
	switch shape {
	case FanOut:
		return "t0", fmt.Sprintf("o%d", i)
	case FanIn:
		return fmt.Sprintf("i%d", i), "all"
	case Mixed:
		if i%2 == 1 {
			return fmt.Sprintf("t%d, t%d", i, i/2), fmt.Sprintf("t%d", i+1)
		}
	}
	return fmt.Sprintf("t%d", i), fmt.Sprintf("t%d", i+1)
}

// topics declares the topics of the shape and the source and sink that
// feed and drain them.
func topics(b *strings.Builder, shape Shape, n int) {
	source := "source gen -> t0 {\n  use = go(\"Gen\")\n}\n"
	switch shape {
	case FanOut:
		b.WriteString("topic t0 json<Event>\n")
		for i := range n {
			fmt.Fprintf(b, "topic o%d json<Event> external\n", i)
		}
		b.WriteString(source)
	case FanIn:
		for i := range n {
			fmt.Fprintf(b, "topic i%d json<Event> external\n", i)
		}
		b.WriteString("topic all json<Event>\nsink out(all) {\n  use = builtin.stdout\n}\n")
	default:
		for i := 0; i <= n; i++ {
			fmt.Fprintf(b, "topic t%d json<Event>\n", i)
		}
		b.WriteString(source)
		fmt.Fprintf(b, "sink out(t%d) {\n  use = builtin.stdout\n}\n", n)
	}
}
