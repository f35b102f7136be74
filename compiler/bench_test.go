package compiler

import (
	"fmt"
	"strings"
	"testing"

	"github.com/meshc/meshc/lang"
)

// generated returns a mesh of n functions: a source feeds topic t0, and
// function i reads t(i) and, for every other function, t(i/2) too, and
// writes t(i+1); a sink reads the last topic. About 2n topics and edges.
func generated(n int) []byte {
	var b strings.Builder
	b.WriteString("mesh big { tenant = \"acme\", namespace = \"bench\", defaults { cpu = 0.25, memory = 128Mi } }\n")
	b.WriteString("param replicas int = 2\n")
	b.WriteString("type Event { id string, n int64, note string? }\n")
	for i := 0; i <= n; i++ {
		fmt.Fprintf(&b, "topic t%d json<Event>\n", i)
	}
	b.WriteString("source gen -> t0 { use = go(\"Gen\") }\n")
	for i := range n {
		inputs := fmt.Sprintf("t%d", i)
		if i%2 == 1 {
			inputs += fmt.Sprintf(", t%d", i/2)
		}
		fmt.Fprintf(&b, "function f%d(%s) -> t%d { use = builtin.identity, replicas = param.replicas, timeout = 10s }\n", i, inputs, i+1)
	}
	fmt.Fprintf(&b, "sink out(t%d) { use = builtin.stdout }\n", n)
	return []byte(b.String())
}

func BenchmarkCompile(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		src := generated(n)
		f, diags := lang.Parse("big.mesh", src)
		if len(diags) > 0 {
			b.Fatal(diags)
		}
		b.Run(fmt.Sprintf("functions=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				m, diags := Compile([]*lang.File{f}, nil)
				if len(diags) > 0 || len(m.Order) != n+2 {
					b.Fatalf("%d diagnostics, %d ordered: %v", len(diags), len(m.Order), diags)
				}
			}
		})
	}
}

// BenchmarkGraph measures building the graph.Graph view of a compiled mesh,
// which Compile leaves to the first call of Mesh.Graph.
func BenchmarkGraph(b *testing.B) {
	f, _ := lang.Parse("big.mesh", generated(10000))
	b.ReportAllocs()
	for b.Loop() {
		m, _ := Compile([]*lang.File{f}, nil)
		if n, _ := m.Graph().Order(); n != 2*10000+3 {
			b.Fatalf("%d vertices", n)
		}
	}
}
