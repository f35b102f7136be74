package planner

import (
	"cmp"
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"reflect"
	"slices"
	"strings"

	gocmp "github.com/google/go-cmp/cmp"
	"github.com/meshc/meshc/planner/plan"
)

// Diff is what changes from one plan to another, for review.
type Diff struct {
	Changes []Change `json:"changes"`
}

// Change is one component or topic added, removed or changed.
type Change struct {
	// What is "function split", "sink print" or "topic words".
	What   string  `json:"what"`
	Action string  `json:"action"` // added, removed or changed
	Fields []Field `json:"fields,omitempty"`
	// Restart says whether instances start, stop or restart: true for a
	// component added, removed, or changed in anything but its replica
	// counts; false for topics and parameters, which run nothing.
	Restart bool `json:"restart"`
}

// Field is one changed value, by its path in the plan's JSON.
type Field struct {
	Path string `json:"path"`
	Old  string `json:"old"`
	New  string `json:"new"`
}

// Empty reports whether the plans are the same.
func (d Diff) Empty() bool { return len(d.Changes) == 0 }

// Compare lists the changes from old to new: the mesh's own settings,
// then topics, then components, each in plan order.
func Compare(old, new *plan.Plan) Diff {
	var d Diff
	om, nm := old.Mesh, new.Mesh
	om.Source, nm.Source = "", "" // where a plan came from is no change to it
	if f := fields(om, nm); len(f) > 0 {
		d.Changes = append(d.Changes, Change{What: "mesh " + new.Mesh.Name, Action: "changed", Fields: f, Restart: true})
	}
	if f := fields(old.Params, new.Params); len(f) > 0 {
		// Parameters restart nothing themselves: the components whose
		// settings they change are listed with their own changes.
		d.Changes = append(d.Changes, Change{What: "params", Action: "changed", Fields: f})
	}
	// Topics run no instances: the components a topic change affects are
	// listed with their own changes.
	d.Changes = append(d.Changes, compareSets(old.Topics, new.Topics, func(t plan.Topic) string { return "topic " + t.Name },
		func(a, b plan.Topic) bool { return false }, false)...)
	d.Changes = append(d.Changes, compareSets(old.Components, new.Components,
		func(c plan.Component) string { return string(c.Kind) + " " + c.Name },
		func(a, b plan.Component) bool { return a.Hash != b.Hash || a.Hash == "" }, true)...)
	return d
}

// compareSets matches items by name and reports what was added, removed or
// changed; restart tells whether a change restarts instances, and runs
// whether the items run instances at all, which start or stop when added
// or removed.
func compareSets[T any](old, new []T, name func(T) string, restart func(a, b T) bool, runs bool) []Change {
	byName := map[string]T{}
	for _, o := range old {
		byName[name(o)] = o
	}
	var out []Change
	for _, n := range new {
		o, ok := byName[name(n)]
		delete(byName, name(n))
		switch f := fields(o, n); {
		case !ok:
			out = append(out, Change{What: name(n), Action: "added", Restart: runs})
		case len(f) > 0:
			out = append(out, Change{What: name(n), Action: "changed", Fields: f, Restart: restart(o, n)})
		}
	}
	var removed []Change
	for n := range byName {
		removed = append(removed, Change{What: n, Action: "removed", Restart: runs})
	}
	slices.SortFunc(removed, func(a, b Change) int { return cmp.Compare(a.What, b.What) })
	return append(out, removed...)
}

// fields lists the differing leaves of two values, named by JSON path.
func fields[T any](a, b T) []Field {
	var r reporter
	gocmp.Equal(a, b, gocmp.Reporter(&r), sameNumbers, configMaps)
	return r.fields
}

// configMaps compares configs as the maps their JSON is, so that a change
// is named by its key (config.region), not by where it stands in the list.
var configMaps = gocmp.Transformer("config", plan.Config.Map)

// sameNumbers compares numbers by value, whatever their Go types: the
// planner writes int64 and float64 where a plan read back from JSON holds
// json.Number.
var sameNumbers = gocmp.FilterValues(func(x, y any) bool {
	_, okx := numberValue(x)
	_, oky := numberValue(y)
	return okx && oky
}, gocmp.Comparer(func(x, y any) bool {
	a, _ := numberValue(x)
	b, _ := numberValue(y)
	return a.Cmp(b) == 0
}))

// numberValue reads a number exactly. A JSON number with a fraction or an
// exponent is read as the float64 it was written from.
func numberValue(v any) (*big.Rat, bool) {
	switch n := v.(type) {
	case int:
		return new(big.Rat).SetInt64(int64(n)), true
	case int64:
		return new(big.Rat).SetInt64(n), true
	case float64:
		if math.IsInf(n, 0) || math.IsNaN(n) {
			return nil, false
		}
		return new(big.Rat).SetFloat64(n), true
	case json.Number:
		if !strings.ContainsAny(string(n), ".eE") {
			return new(big.Rat).SetString(string(n))
		}
		f, err := n.Float64()
		if err != nil {
			return nil, false
		}
		return numberValue(f)
	}
	return nil, false
}

// reporter collects go-cmp's differences as JSON paths with old and new
// values written as JSON.
type reporter struct {
	path   gocmp.Path
	fields []Field
}

func (r *reporter) PushStep(s gocmp.PathStep) { r.path = append(r.path, s) }
func (r *reporter) PopStep()                  { r.path = r.path[:len(r.path)-1] }

// Report records a difference; the hash is left out, since Restart says
// what its change means.
func (r *reporter) Report(res gocmp.Result) {
	if res.Equal() {
		return
	}
	old, new := r.path.Last().Values()
	if path := jsonPath(r.path); path != "hash" {
		r.fields = append(r.fields, Field{Path: path, Old: show(old), New: show(new)})
	}
}

// jsonPath writes a go-cmp path with the plan's JSON names: replicas.count,
// inputs[0].topic, config.region.
func jsonPath(p gocmp.Path) string {
	var b strings.Builder
	for i, s := range p {
		switch s := s.(type) {
		case gocmp.StructField:
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			b.WriteString(jsonName(p[i-1].Type(), s))
		case gocmp.SliceIndex:
			fmt.Fprintf(&b, "[%d]", max(s.Key(), 0))
		case gocmp.MapIndex:
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			fmt.Fprintf(&b, "%v", s.Key())
		}
	}
	return b.String()
}

// jsonName is the JSON name of a struct field, from its tag.
func jsonName(parent reflect.Type, s gocmp.StructField) string {
	for parent.Kind() == reflect.Pointer {
		parent = parent.Elem()
	}
	if parent.Kind() != reflect.Struct {
		return s.Name()
	}
	name, _, _ := strings.Cut(parent.Field(s.Index()).Tag.Get("json"), ",")
	if name == "" || name == "-" {
		return s.Name()
	}
	return name
}

// show writes a value as JSON, or "-" for a value that is not there.
func show(v reflect.Value) string {
	if !v.IsValid() {
		return "-"
	}
	b, err := json.Marshal(v.Interface())
	if err != nil {
		return fmt.Sprint(v.Interface())
	}
	return string(b)
}
