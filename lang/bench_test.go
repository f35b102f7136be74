package lang

import (
	"fmt"
	"strings"
	"testing"
)

// generate writes a mesh of n functions chained through topics, with the
// options a real mesh uses.
func generate(n int) []byte {
	var b strings.Builder
	b.WriteString("mesh bench {\n  tenant = \"public\"\n  namespace = \"default\"\n}\n\nparam replicas int = 2\n\n")
	b.WriteString("type Event {\n  id string\n  amount float64\n  tags list<string>?\n}\n\n")
	for i := 0; i <= n; i++ {
		fmt.Fprintf(&b, "topic t%d json<Event>\n", i)
	}
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, `
// f%[1]d enriches events.
function f%[1]d(t%[1]d) -> t%[2]d {
  use = go("Enrich%[1]d")
  replicas = param.replicas
  guarantee = at_least_once
  timeout = 30s
  memory = 256Mi
  config {
    region = "eu-west-%[1]d"
    fields = ["id", "amount"]
  }
}
`, i, i+1)
	}
	return []byte(b.String())
}

func BenchmarkParse(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		src := generate(n)
		b.Run(fmt.Sprintf("functions=%d", n), func(b *testing.B) {
			b.SetBytes(int64(len(src)))
			b.ReportAllocs()
			for b.Loop() {
				if _, diags := Parse("bench.mesh", src); len(diags) > 0 {
					b.Fatal(diags)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/function")
		})
	}
}

func BenchmarkScan(b *testing.B) {
	src := string(generate(10000))
	b.SetBytes(int64(len(src)))
	b.ReportAllocs()
	for b.Loop() {
		scan("bench.mesh", src)
	}
}
