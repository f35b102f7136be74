package format

import (
	"fmt"
	"strings"
	"testing"

	"github.com/meshc/meshc/lang"
)

// generate writes a mesh of n functions chained through topics, laid out
// carelessly so that the formatter has work to do.
func generate(n int) []byte {
	var b strings.Builder
	b.WriteString("mesh bench { tenant = \"public\", namespace = \"default\" }\nparam replicas int = 2\n")
	b.WriteString("type Event { id string, amount float64, tags list<string>? }\n")
	for i := 0; i <= n; i++ {
		fmt.Fprintf(&b, "topic t%d json<Event> // topic %[1]d\n", i)
	}
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, `
// f%[1]d enriches events.
function f%[1]d(t%[1]d) -> t%[2]d { use = go("Enrich%[1]d")
    replicas = param.replicas, guarantee = at_least_once
  timeout = 30s memory = 256Mi
  config = { region = "eu-west-%[1]d", fields = ["id", "amount"],
    routes = [{ to = "a", weight = 1 }, { to = "b", weight = 2 }] }
}
`, i, i+1)
	}
	return []byte(b.String())
}

func BenchmarkFormat(b *testing.B) {
	src := generate(1000)
	if _, err := Format("bench.mesh", src); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(src)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Format("bench.mesh", src); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSource measures printing alone, without parsing.
func BenchmarkSource(b *testing.B) {
	src := generate(1000)
	f, diags := lang.Parse("bench.mesh", src)
	if len(diags) > 0 {
		b.Fatal(diags)
	}
	b.SetBytes(int64(len(src)))
	b.ReportAllocs()
	for b.Loop() {
		Source(f)
	}
}
