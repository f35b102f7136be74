package meshtest

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/joshdk/go-junit"

	"github.com/meshc/meshc/lang"
)

// results are a passing case, a failing one and a file that did not load.
func results() []*FileResult {
	pos := lang.NewPos("wc.meshtest", 0, 12, 5)
	return []*FileResult{
		{File: "wc.meshtest", Elapsed: 3 * time.Second, Results: []Result{
			{File: "wc.meshtest", Case: "counts", Pos: lang.NewPos("wc.meshtest", 0, 1, 6), Elapsed: time.Second},
			{File: "wc.meshtest", Case: "wrong", Pos: lang.NewPos("wc.meshtest", 0, 9, 6), Elapsed: 2 * time.Second,
				Failures: []Failure{{Pos: pos, Message: "topic counts: want 1 messages in this order, got 1 (-want +got):", Diff: "- 1\n+ 2\n"}}},
		}},
		{File: "etl.meshtest", Err: errors.New("etl.meshtest:3:1: unknown test attribute <x> & more")},
	}
}

// TestJUnit checks that a JUnit XML parser reads what WriteJUnit writes:
// suites, cases, their status, and the failure at its position.
func TestJUnit(t *testing.T) {
	var b bytes.Buffer
	if err := WriteJUnit(&b, results()); err != nil {
		t.Fatal(err)
	}
	suites, err := junit.Ingest(b.Bytes())
	if err != nil {
		t.Fatalf("JUnit parser: %v\n%s", err, b.Bytes())
	}
	type row struct{ Suite, Test, Status, Message string }
	var got []row
	for _, s := range suites {
		for _, tc := range s.Tests {
			got = append(got, row{s.Name, tc.Name, string(tc.Status), tc.Message})
		}
	}
	want := []row{
		{"wc.meshtest", "counts", "passed", ""},
		{"wc.meshtest", "wrong", "failed", "wc.meshtest:12:5: topic counts: want 1 messages in this order, got 1 (-want +got):"},
		{"etl.meshtest", "(load)", "error", "the test file or its mesh has errors"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("parsed JUnit (-want +got):\n%s\n%s", diff, b.Bytes())
	}
	if d := suites[0].Tests[1].Duration; d != 2*time.Second {
		t.Errorf("duration %v, want 2s", d)
	}
	if body := suites[0].Tests[1].Error.Error(); !strings.Contains(body, "- 1\n") {
		t.Errorf("the failure's text lacks the diff: %q", body)
	}
}

// TestText checks the go test layout: FAIL blocks, ok and FAIL lines.
func TestText(t *testing.T) {
	var b bytes.Buffer
	rep := &Text{W: &b}
	for _, f := range results() {
		for i := range f.Results {
			rep.Start(f.File, f.Results[i].Case)
			rep.Case(&f.Results[i])
		}
		rep.File(f)
	}
	want := `--- FAIL: wrong (2.00s)
    wc.meshtest:12:5: topic counts: want 1 messages in this order, got 1 (-want +got):
        - 1
        + 2
FAIL	wc.meshtest	3.00s
FAIL	etl.meshtest [setup failed]
`
	if diff := cmp.Diff(want, b.String()); diff != "" {
		t.Errorf("text report (-want +got):\n%s", diff)
	}
}

// TestJSON checks that every line is an event go test -json would write.
func TestJSON(t *testing.T) {
	var b bytes.Buffer
	rep := &JSON{W: &b, Now: func() time.Time { return time.Unix(0, 0).UTC() }}
	for _, f := range results() {
		for i := range f.Results {
			rep.Start(f.File, f.Results[i].Case)
			rep.Case(&f.Results[i])
		}
		rep.File(f)
	}
	var got []string
	for line := range strings.Lines(b.String()) {
		var e Event
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatalf("line %q: %v", line, err)
		}
		got = append(got, e.Action+" "+e.Package+" "+e.Test)
	}
	want := []string{
		"run wc.meshtest counts", "pass wc.meshtest counts",
		"run wc.meshtest wrong", "output wc.meshtest wrong", "fail wc.meshtest wrong",
		"fail wc.meshtest ",
		"output etl.meshtest ", "fail etl.meshtest ",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
}
