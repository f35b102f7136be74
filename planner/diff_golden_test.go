package planner

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	"github.com/meshc/meshc/internal/golden"
	"github.com/meshc/meshc/planner/plan"
)

// TestDiffGolden plans the old.mesh and new.mesh of each
// testdata/diffs/*.txtar (with NAME=VALUE lines from old.params and
// new.params) and compares the diff, as text and as markdown, with the
// want and want.md sections.
func TestDiffGolden(t *testing.T) {
	for _, path := range golden.Glob(t, "testdata/diffs/*.txtar") {
		t.Run(strings.TrimSuffix(filepath.Base(path), ".txtar"), func(t *testing.T) {
			ar := golden.Load(t, path)
			plans := [2]*plan.Plan{}
			for i, side := range []string{"old", "new"} {
				var params []byte
				if ar.Has(side + ".params") {
					params = ar.Section(t, side+".params")
				}
				m := compile(t, side+".mesh", ar.Section(t, side+".mesh"), paramLines(params))
				plans[i] = Plan(m, Options{})
			}
			d := Compare(plans[0], plans[1])
			var text, md bytes.Buffer
			d.WriteText(&text)
			d.WriteMarkdown(&md)
			ar.Check(t, "want", text.String())
			ar.Check(t, "want.md", md.String())
		})
	}
}

func paramLines(data []byte) map[string]string {
	out := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		if k, v, ok := strings.Cut(line, "="); ok {
			out[k] = v
		}
	}
	return out
}
