package nomad

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	gocmp "github.com/google/go-cmp/cmp"
	"github.com/hashicorp/nomad/api"

	"github.com/meshc/meshc/internal/meshgen"
	"github.com/meshc/meshc/internal/plantest"
)

// TestJSONReference: JSON writes what encoding/json writes of the job's
// set fields gathered into maps, for a mesh of every kind of component
// and each driver.
func TestJSONReference(t *testing.T) {
	p := plantest.Generated(t, meshgen.Mixed, 40)
	for _, o := range []Options{{}, {Driver: Docker, Image: "meshc/meshrt:1"}, {Driver: Exec, Artifact: "https://example.com/meshrt"}} {
		job, err := Job(p, o)
		if err != nil {
			t.Fatal(err)
		}
		job.TaskGroups[0].Tasks[0].Config["float"] = 0.5 // written by encoding/json
		job.TaskGroups[0].Tasks[0].Config["html"] = "<&>"
		got, err := JSON(job)
		if err != nil {
			t.Fatal(err)
		}
		var want bytes.Buffer
		enc := json.NewEncoder(&want)
		enc.SetEscapeHTML(false)
		enc.SetIndent("", "  ")
		if err := enc.Encode(map[string]any{"Job": jsonReference(reflect.ValueOf(job))}); err != nil {
			t.Fatal(err)
		}
		if diff := gocmp.Diff(want.String(), string(got)); diff != "" {
			t.Errorf("%s (-encoding/json +JSON):\n%s", o.Driver, diff)
		}
	}
}

// jsonReference is the value of v's set fields as encoding/json writes
// them, in maps.
func jsonReference(v reflect.Value) any {
	if v.Type() == durationType {
		return v.Int()
	}
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		return jsonReference(v.Elem())
	case reflect.Struct:
		m := map[string]any{}
		for i := range v.NumField() {
			sf, fv := v.Type().Field(i), v.Field(i)
			name, _, _ := strings.Cut(sf.Tag.Get("json"), ",")
			if sf.IsExported() && name != "-" && isSet(fv) {
				m[cmp.Or(name, sf.Name)] = jsonReference(fv)
			}
		}
		return m
	case reflect.Slice:
		out := make([]any, v.Len())
		for i := range out {
			out[i] = jsonReference(v.Index(i))
		}
		return out
	case reflect.Map:
		m := map[string]any{}
		for it := v.MapRange(); it.Next(); {
			m[fmt.Sprint(it.Key().Interface())] = jsonReference(it.Value())
		}
		return m
	}
	return v.Interface()
}

// TestJSONNamesUnique: no two fields of an api type reachable from a job
// share a JSON name, so writing a struct's set fields in name order
// writes each name once, as a map of them would.
func TestJSONNamesUnique(t *testing.T) {
	seen := map[reflect.Type]bool{}
	var walk func(reflect.Type)
	walk = func(t2 reflect.Type) {
		for t2.Kind() == reflect.Pointer || t2.Kind() == reflect.Slice || t2.Kind() == reflect.Map {
			t2 = t2.Elem()
		}
		if t2.Kind() != reflect.Struct || seen[t2] {
			return
		}
		seen[t2] = true
		names := map[string]bool{}
		for _, f := range infoOf(t2).json {
			if names[f.name] {
				t.Errorf("%s: two fields named %s in JSON", t2, f.name)
			}
			names[f.name] = true
			walk(t2.Field(f.index).Type)
		}
	}
	walk(jobType)
	if len(seen) < 20 {
		t.Errorf("walked %d types, want the many of a job", len(seen))
	}
}

// TestHCLErrors: what has no HCL form is an error naming where it is.
func TestHCLErrors(t *testing.T) {
	tests := []struct {
		name string
		set  func(*api.Task)
		want string
	}{
		{"config key", func(t *api.Task) { t.Config["not an identifier"] = "x" },
			`job.group.task.config: key "not an identifier" is not an HCL identifier`},
		{"config value", func(t *api.Task) { t.Config["ch"] = make(chan int) },
			"job.group.task.config.ch: a chan int has no HCL attribute form"},
		{"list value", func(t *api.Task) { t.Config["list"] = []any{map[string]int{}} },
			"job.group.task.config.list: a map[string]int has no HCL attribute form"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			job, err := Job(planFile(t, "testdata/orders.mesh", nil), Options{})
			if err != nil {
				t.Fatal(err)
			}
			tt.set(job.TaskGroups[1].Tasks[0])
			_, err = HCL(job)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("HCL = %v, want an error with %q", err, tt.want)
			}
		})
	}
}

// TestWriteStreams: a job written as it is made, over many flushes, is the
// text JSON and HCL make whole.
func TestWriteStreams(t *testing.T) {
	job, err := Job(plantest.Generated(t, meshgen.Mixed, 300), Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		whole func(*api.Job) ([]byte, error)
		write func(io.Writer, *api.Job) error
	}{
		{"json", JSON, WriteJSON},
		{"hcl", HCL, WriteHCL},
	} {
		want, err := tc.whole(job)
		if err != nil {
			t.Fatal(err)
		}
		if len(want) < 4*flushSize {
			t.Fatalf("%s: %d bytes, too few to be written in several parts", tc.name, len(want))
		}
		var got writes
		if err := tc.write(&got, job); err != nil {
			t.Fatal(err)
		}
		if got.n < 4 || !bytes.Equal(want, got.Bytes()) {
			t.Errorf("%s: written in %d parts, the same text as whole: %v", tc.name, got.n, bytes.Equal(want, got.Bytes()))
		}
	}
}

// TestFilesMakeGroupsAsWritten: the files whose job's groups are made as
// they are written, written twice and in either order, are the job's
// text made whole.
func TestFilesMakeGroupsAsWritten(t *testing.T) {
	p := plantest.Generated(t, meshgen.Mixed, 300)
	job, err := Job(p, Options{})
	if err != nil {
		t.Fatal(err)
	}
	wantJSON, err := JSON(job)
	if err != nil {
		t.Fatal(err)
	}
	wantHCL, err := HCL(job)
	if err != nil {
		t.Fatal(err)
	}
	files, err := Files(p, Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]byte{files[0].Path: wantHCL, files[1].Path: wantJSON} // sorted: .hcl first
	for _, i := range []int{1, 0, 1, 0} {
		var got writes
		if err := files[i].Write(&got); err != nil {
			t.Fatal(err)
		}
		if got.n < 4 || !bytes.Equal(want[files[i].Path], got.Bytes()) {
			t.Errorf("%s: written in %d parts, the same text as the job's whole: %v", files[i].Path, got.n, bytes.Equal(want[files[i].Path], got.Bytes()))
		}
	}
}

// writes counts the writes it takes.
type writes struct {
	bytes.Buffer
	n int
}

func (w *writes) Write(b []byte) (int, error) {
	w.n++
	return w.Buffer.Write(b)
}

// TestFieldIsSet: a field's bytes tell whether it is set as isSet's
// reflection does, for each kind of field, set, zero and empty, in a
// struct with an address and in one without.
func TestFieldIsSet(t *testing.T) {
	type kinds struct {
		P  *int
		I  any
		S  string
		L  []int
		M  map[string]int
		B  bool
		N  int
		N8 int8
		U  uint16
		F  float64
		F4 float32
		D  time.Duration
		T  struct{ A, B int }
		A  [2]int
	}
	one := 1
	values := []kinds{
		{},
		{P: &one, I: 0, S: "x", L: []int{1}, M: map[string]int{"a": 1}, B: true, N: -1, N8: 1, U: 1, F: 1, F4: 1, D: 1, T: struct{ A, B int }{B: 1}, A: [2]int{0, 1}},
		{I: (*int)(nil), L: []int{}, M: map[string]int{}, F: math.Copysign(0, -1), F4: float32(math.Copysign(0, -1))},
	}
	info := infoOf(reflect.TypeFor[kinds]())
	for i, k := range values {
		for _, v := range []reflect.Value{reflect.ValueOf(&k).Elem(), reflect.ValueOf(k)} {
			s := structOf(v)
			for _, f := range info.json {
				if got, want := f.isSet(s), isSet(v.Field(f.index)); got != want {
					t.Errorf("value %d, field %s, addressable %t: isSet %t, want %t", i, f.name, v.CanAddr(), got, want)
				}
			}
		}
	}
}
