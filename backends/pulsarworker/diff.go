package pulsarworker

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/apache/pulsar-client-go/pulsaradmin/pkg/utils"

	"github.com/meshc/meshc/planner/plan"
)

// Action is what deploy does to one function.
type Action string

const (
	Create    Action = "create"    // not on the worker: registered with the package
	Update    Action = "update"    // its plan or package changed: its instances restart
	Scale     Action = "scale"     // only its parallelism changed
	Unchanged Action = "unchanged" // nothing to do
	Delete    Action = "delete"    // on the worker for this mesh, no longer in it
)

// Deployed is what deploy reads of a function on the worker.
type Deployed struct {
	Name        string
	Mesh        string // its meshc.mesh user config; "" for a function meshc did not make
	Kind        string
	Hash        string
	Package     string
	Parallelism int
	Config      utils.FunctionConfig
}

// deployedOf reads what meshc wrote into a function's configuration.
func deployedOf(fc utils.FunctionConfig) Deployed {
	str := func(k string) string { s, _ := fc.UserConfig[k].(string); return s }
	return Deployed{Name: fc.Name, Mesh: str(MeshKey), Kind: str(KindKey), Hash: str(HashKey),
		Package: str(PackageKey), Parallelism: fc.Parallelism, Config: fc}
}

// Change is one function's part of a deploy.
type Change struct {
	Name   string
	Kind   string // function, source or sink
	Action Action
	// Why says what changed: "plan", "package", "parallelism 2 => 3".
	Why  []string
	Want *Function // nil for Delete
	Have *Deployed // nil for Create
}

// Changes compares the functions a plan wants with those of the
// namespace. A function of the same name that another mesh, or no mesh,
// made is not this deploy's to change: it is an error naming each.
// Changes come in the order to apply them: functions and sinks, then
// sources (so that nothing is produced before it is read), then deletes.
func Changes(mesh string, want []Function, have []Deployed) ([]Change, error) {
	byName := map[string]Deployed{}
	for _, d := range have {
		byName[d.Name] = d
	}
	var out, sources []Change
	var foreign []string
	wanted := map[string]bool{}
	for i := range want {
		f := &want[i]
		name := f.Config.Name
		wanted[name] = true
		ch := Change{Name: name, Kind: string(f.Component.Kind), Want: f, Action: Create}
		if d, ok := byName[name]; ok {
			if d.Mesh != mesh {
				foreign = append(foreign, foreignName(d))
				continue
			}
			ch.Action, ch.Why = compare(f, d)
			ch.Have = &d
		}
		if f.Component.Kind == plan.Source {
			sources = append(sources, ch)
		} else {
			out = append(out, ch)
		}
	}
	if len(foreign) > 0 {
		return nil, fmt.Errorf("%w: %s; rename the mesh's components or move the mesh to another namespace, or delete those functions (pulsar-admin functions delete) if they are not wanted",
			ErrForeign, strings.Join(foreign, ", "))
	}
	out = append(out, sources...)
	for _, d := range slices.SortedFunc(slices.Values(have), func(a, b Deployed) int { return strings.Compare(a.Name, b.Name) }) {
		if d.Mesh == mesh && !wanted[d.Name] {
			out = append(out, Change{Name: d.Name, Kind: d.Kind, Action: Delete, Have: &d})
		}
	}
	return out, nil
}

func foreignName(d Deployed) string {
	if d.Mesh == "" {
		return fmt.Sprintf("%s (not made by meshc)", d.Name)
	}
	return fmt.Sprintf("%s (of mesh %s)", d.Name, d.Mesh)
}

// compare says what must happen to a function that is deployed.
func compare(f *Function, d Deployed) (Action, []string) {
	var why []string
	if d.Hash != f.Component.Hash {
		why = append(why, "plan")
	}
	if id, _ := f.Config.UserConfig[PackageKey].(string); d.Package != id {
		why = append(why, "package")
	}
	if len(why) > 0 {
		return Update, why
	}
	if d.Parallelism != f.Config.Parallelism {
		return Scale, []string{fmt.Sprintf("parallelism %d => %d", d.Parallelism, f.Config.Parallelism)}
	}
	return Unchanged, nil
}

// WriteChanges prints the changes as a table, marked as Nomad's plan is:
// + create, +/- update or scale, - delete, and a count of each.
func WriteChanges(w io.Writer, changes []Change) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	counts := map[Action]int{}
	for _, c := range changes {
		counts[c.Action]++
		why := "-"
		if len(c.Why) > 0 {
			why = strings.Join(c.Why, ", ")
		}
		fmt.Fprintf(tw, "%s %s\t%s\t%s\t%s\n", mark(c.Action), c.Name, c.Kind, c.Action, why)
	}
	tw.Flush()
	var parts []string
	for _, a := range []Action{Create, Update, Scale, Delete, Unchanged} {
		if counts[a] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", counts[a], a))
		}
	}
	if len(parts) == 0 {
		parts = []string{"nothing"}
	}
	fmt.Fprintf(w, "%s\n", strings.Join(parts, ", "))
}

func mark(a Action) string {
	switch a {
	case Create:
		return "+  "
	case Update, Scale:
		return "+/-"
	case Delete:
		return "-  "
	}
	return "   "
}

// Pending reports whether any change does something.
func Pending(changes []Change) bool {
	return slices.ContainsFunc(changes, func(c Change) bool { return c.Action != Unchanged })
}
