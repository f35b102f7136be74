package main

import (
	"fmt"
	"io"
	"os"

	"golang.org/x/perf/benchfmt"
)

// Goals of the instance runtime, from SPEC.md's performance section: CPU
// per message against the bare pulsar-client-go loop measured beside it.
const (
	atLeastOnceOverBare        = 1.15
	effectivelyOnceOverAtLeast = 2.0
)

// instanceCost is what runtime's BenchmarkInstanceCost measured: CPU
// microseconds a message of an identity function, and of the bare loop.
type instanceCost struct {
	bare, atLeastOnce, effectivelyOnce float64
}

// costBenchmark and its units, as the benchmark reports them.
const costBenchmark = "InstanceCost"

var costUnits = map[string]func(*instanceCost) *float64{
	"bare-cpu-µs/msg": func(c *instanceCost) *float64 { return &c.bare },
	"alo-cpu-µs/msg":  func(c *instanceCost) *float64 { return &c.atLeastOnce },
	"eo-cpu-µs/msg":   func(c *instanceCost) *float64 { return &c.effectivelyOnce },
}

// readInstanceCost finds the last BenchmarkInstanceCost result in the
// output of go test -bench at path.
func readInstanceCost(path string) (instanceCost, error) {
	f, err := os.Open(path)
	if err != nil {
		return instanceCost{}, err
	}
	defer f.Close()
	var c instanceCost
	found := false
	r := benchfmt.NewReader(f, path)
	for r.Scan() {
		res, ok := r.Result().(*benchfmt.Result)
		if !ok || string(res.Name.Base()) != costBenchmark {
			continue
		}
		found = true
		for _, v := range res.Values {
			if field, ok := costUnits[v.Unit]; ok {
				*field(&c) = v.Value
			}
		}
	}
	if err := r.Err(); err != nil {
		return c, err
	}
	if !found || c.bare == 0 || c.atLeastOnce == 0 {
		return c, fmt.Errorf("%s has no result of Benchmark%s with its CPU per message: run go test -bench %s ./runtime/ into it", path, costBenchmark, costBenchmark)
	}
	return c, nil
}

// write prints the table's lines for the instance runtime, each goal set
// by the figure measured beside it in the same run.
func (c instanceCost) write(w io.Writer) {
	line := func(name string, v, goal float64) {
		ratio := "-"
		if goal > 0 {
			ratio = fmt.Sprintf("%.2f", goal/v)
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t\t\t\n", name, us(v), us(goal), ratio)
	}
	line("instance: bare pulsar-client-go loop (baseline)", c.bare, 0)
	line("instance: identity function, at_least_once", c.atLeastOnce, c.bare*atLeastOnceOverBare)
	line("instance: identity function, effectively_once", c.effectivelyOnce, c.atLeastOnce*effectivelyOnceOverAtLeast)
}

// us is CPU microseconds a message; none is "-".
func us(v float64) string {
	if v == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f µs/msg", v)
}
