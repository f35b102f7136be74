package pulsarworker

import (
	"bytes"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// deployedFrom is what the worker would hold after a deploy of fns.
func deployedFrom(fns []Function) []Deployed {
	var out []Deployed
	for _, f := range fns {
		out = append(out, deployedOf(f.Config))
	}
	return out
}

type changeView struct {
	Name   string
	Action Action
	Why    []string
}

func views(cs []Change) []changeView {
	var out []changeView
	for _, c := range cs {
		out = append(out, changeView{c.Name, c.Action, c.Why})
	}
	return out
}

func TestChanges(t *testing.T) {
	base := planFile(t, "../../examples/wordcount.mesh", nil)
	old, err := Configs(base, testPackage)
	if err != nil {
		t.Fatal(err)
	}
	have := deployedFrom(old)
	withConfig := func(edit func([]Function)) []Function {
		fns, err := Configs(planFile(t, "../../examples/wordcount.mesh", nil), testPackage)
		if err != nil {
			t.Fatal(err)
		}
		edit(fns)
		return fns
	}
	byName := func(fns []Function, name string) *Function {
		for i := range fns {
			if fns[i].Config.Name == name {
				return &fns[i]
			}
		}
		t.Fatalf("no %s", name)
		return nil
	}
	scaled, err := Configs(planFile(t, "../../examples/wordcount.mesh", map[string]string{"replicas": "5"}), testPackage)
	if err != nil {
		t.Fatal(err)
	}
	newBinary, err := Configs(base, Package{File: "/tmp/meshrt", Digest: "sha256:fedcba"})
	if err != nil {
		t.Fatal(err)
	}
	unchanged := []changeView{{"count", Unchanged, nil}, {"split", Unchanged, nil}, {"print", Unchanged, nil}, {"lines", Unchanged, nil}}
	tests := []struct {
		name string
		want []Function
		have []Deployed
		out  []changeView
	}{
		{"first deploy", old, nil, []changeView{{"count", Create, nil}, {"split", Create, nil}, {"print", Create, nil}, {"lines", Create, nil}}},
		{"the same mesh again", old, have, unchanged},
		{"replicas only", scaled, have, []changeView{{"count", Unchanged, nil},
			{"split", Scale, []string{"parallelism 2 => 5"}}, {"print", Unchanged, nil}, {"lines", Unchanged, nil}}},
		{"one changed plan", withConfig(func(fns []Function) { byName(fns, "split").Component.Hash = "changed" }), have,
			[]changeView{{"count", Unchanged, nil}, {"split", Update, []string{"plan"}}, {"print", Unchanged, nil}, {"lines", Unchanged, nil}}},
		{"a new binary", newBinary, have, []changeView{{"count", Update, []string{"package"}}, {"split", Update, []string{"package"}},
			{"print", Update, []string{"package"}}, {"lines", Update, []string{"package"}}}},
		{"a component removed", withConfig(func(fns []Function) {})[:2], have,
			[]changeView{{"count", Unchanged, nil}, {"lines", Unchanged, nil}, {"print", Delete, nil}, {"split", Delete, nil}}},
		{"another mesh's functions are left alone", old, append(have, Deployed{Name: "other", Mesh: "else"}), unchanged},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Changes("wordcount", tt.want, tt.have)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.out, views(got)); diff != "" {
				t.Errorf("changes (-want +got):\n%s", diff)
			}
		})
	}
}

func TestChangesForeign(t *testing.T) {
	fns, err := Configs(planFile(t, "../../examples/wordcount.mesh", nil), testPackage)
	if err != nil {
		t.Fatal(err)
	}
	have := []Deployed{{Name: "split", Mesh: "other"}, {Name: "count"}}
	_, err = Changes("wordcount", fns, have)
	if !errors.Is(err, ErrForeign) {
		t.Fatalf("Changes = %v, want ErrForeign", err)
	}
	for _, want := range []string{"split (of mesh other)", "count (not made by meshc)", "rename"} {
		if !bytes.Contains([]byte(err.Error()), []byte(want)) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
}

func TestWriteChanges(t *testing.T) {
	var b bytes.Buffer
	WriteChanges(&b, []Change{
		{Name: "split", Kind: "function", Action: Update, Why: []string{"plan"}},
		{Name: "count", Kind: "function", Action: Unchanged},
		{Name: "extra", Kind: "sink", Action: Delete},
		{Name: "lines", Kind: "source", Action: Create},
	})
	want := `+/- split  function  update     plan
    count  function  unchanged  -
-   extra  sink      delete     -
+   lines  source    create     -
1 create, 1 update, 1 delete, 1 unchanged
`
	if diff := cmp.Diff(want, b.String()); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}
