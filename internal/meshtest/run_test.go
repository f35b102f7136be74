package meshtest

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// passing exercises every kind of input and expectation on real
// instances of the test mesh; each case must pass.
const passing = `test counts_by_key {
  params {
    replicas = 1
  }
  state {
    count = [{ key = "fox", counter = 10 }]
  }
  send {
    sentences = ["the fox", "the dog"]
    sentences {
      value = "fox"
      key = "k"
      properties {
        origin = "test"
      }
      event_time = "2026-01-02T03:04:05Z"
    }
  }
  expect {
    counts {
      order = key
      messages = [
        { key = "the", value { word = "the", count = 1 } },
        { key = "the", value { count = 2 } },
        { key = "fox", value { count = 11 } },
        { key = "fox", value { count = 12 } },
        { key = "dog", value { count = 1 } },
      ]
    }
  }
  expect_state {
    count = [{ key = "fox", counter = 12 }, { key = "dog", counter = 1 }]
  }
  nothing_else = true
}

test records {
  send {
    records = [{ word = "a", count = 1 }, { word = "b", count = 2 }]
  }
  expect {
    kept = [{ word = "b" }]
  }
  nothing_else = true
}

test dead_letters {
  send {
    numbers = ["1", "two", "3"]
  }
  expect {
    parsed {
      order = any
      messages = [3, 1]
    }
    rejected = [{ value = "two", reason = "is not a number" }]
  }
  nothing_else = true
}
`

func TestRunPasses(t *testing.T) {
	s, err := Load(write(t, testMesh, passing))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, r := range s.Run(context.Background(), selfOptions(t), &Text{W: io.Discard}) {
		names = append(names, r.Case)
		if !r.Passed() {
			t.Errorf("case %s failed:\n%s", r.Case, failureText(&r))
		}
	}
	if diff := cmp.Diff([]string{"counts_by_key", "records", "dead_letters"}, names); diff != "" {
		t.Errorf("cases run (-want +got):\n%s", diff)
	}
}

// failing is wrong about what the functions write; each failure must be
// said at the expectation that is not met, with a diff.
const failing = `test wrong {
  params {
    replicas = 1
  }
  send {
    sentences = ["a b a"]
    numbers = ["x"]
  }
  expect {
    counts = [
      { word = "a", count = 1 },
      { word = "b", count = 1 },
      { word = "a", count = 3 },
    ]
    parsed = [1]
  }
  expect_state {
    count = [{ key = "b", counter = 2 }]
  }
  nothing_else = true
}

test picked_out {
  send {
    numbers = ["1"]
  }
}
`

func TestRunFails(t *testing.T) {
	path := write(t, testMesh, failing)
	s, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	opts := selfOptions(t)
	opts.Run = regexp.MustCompile("^wrong$")
	results := s.Run(context.Background(), opts, &Text{W: io.Discard})
	keepNoLogs(t, results)
	if len(results) != 1 {
		t.Fatalf("-run picked %d cases, want 1", len(results))
	}
	r := results[0]
	if r.LogDir == "" {
		t.Error("a failed case keeps its instance logs")
	}
	var got []string
	for _, f := range r.Failures {
		got = append(got, short(fmt.Sprintf("%s: %s", posText(f), f.Message), path))
	}
	want := []string{
		"wc.meshtest:13:7: topic counts: want 3 messages in this order, got 3 (-want +got):",
		"wc.meshtest:15:15: topic parsed: want 1 messages in this order, got 0 (-want +got):",
		"wc.meshtest:1:6: topic rejected: want nothing written (nothing_else = true), got 1 messages (-want +got):",
		`wc.meshtest:18:14: state of count, key "b" (-want +got):`,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("failures (-want +got):\n%s", diff)
	}
	for _, part := range []string{`- 	` + "`" + `{"count":3,"word":"a"}` + "`", `+ 	` + "`" + `{"count":2,"word":"a"}` + "`"} {
		if !strings.Contains(strings.ReplaceAll(r.Failures[0].Diff, "\u00a0", " "), part) {
			t.Errorf("the diff of counts lacks %q:\n%s", part, r.Failures[0].Diff)
		}
	}
}

// TestRunTimeout checks that a case whose functions do not finish fails at
// its timeout, said at the case, with the instances' logs kept.
func TestRunTimeout(t *testing.T) {
	const mesh = `mesh stuck {}
topic in string external
topic out string
function stuck(in) -> out {
  use = go("Hang")
}
`
	path := write(t, mesh, "test hangs {\n  timeout = 2s\n  send {\n    in = [\"x\"]\n  }\n}\n")
	s, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	results := s.Run(context.Background(), selfOptions(t), &Text{W: io.Discard})
	keepNoLogs(t, results)
	if len(results) != 1 || len(results[0].Failures) != 1 {
		t.Fatalf("want one failure, got %+v", results)
	}
	f := results[0].Failures[0]
	if f.Pos.Line() != 1 || f.Pos.Column() != 6 || !strings.Contains(f.Message, "did not finish in time") {
		t.Errorf("failure at %d:%d: %s", f.Pos.Line(), f.Pos.Column(), f.Message)
	}
	if results[0].LogDir == "" {
		t.Error("the logs of a case that timed out are kept")
	}
}

// keepNoLogs removes the logs failed cases keep, once the test is done.
func keepNoLogs(t *testing.T, results []Result) {
	for _, r := range results {
		if r.LogDir != "" {
			t.Cleanup(func() { os.RemoveAll(r.LogDir) })
		}
	}
}

// TestRunAvro checks that records go to and come from Avro topics as to
// JSON ones, compared on the fields named.
func TestRunAvro(t *testing.T) {
	path := write(t, `mesh a {}
topic in avro("order.avsc") external
topic out avro("order.avsc")
function f(in) -> out {
  use = builtin.filter
  config {
    where = "amount > 1"
  }
}
`, `test big_orders {
  send {
    in = [{ id = "o1", amount = 0.5 }, { id = "o2", amount = 3.5 }]
  }
  expect {
    out = [{ id = "o2" }]
  }
  nothing_else = true
}
`)
	avsc := `{"type": "record", "name": "Order", "fields": [{"name": "id", "type": "string"}, {"name": "amount", "type": "double"}]}`
	if err := writeFile(filepath.Join(filepath.Dir(path), "order.avsc"), avsc); err != nil {
		t.Fatal(err)
	}
	s, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range s.Run(context.Background(), selfOptions(t), &Text{W: io.Discard}) {
		if !r.Passed() {
			t.Errorf("case %s failed:\n%s", r.Case, failureText(&r))
		}
	}
}
