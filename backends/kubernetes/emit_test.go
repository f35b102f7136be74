package kubernetes

import (
	"path"
	"strings"
	"testing"

	"github.com/meshc/meshc/planner/plan"
)

// TestGolden emits every mesh in both flavours and compares with
// testdata/golden/MESH/FLAVOUR.
func TestGolden(t *testing.T) {
	for _, file := range meshFiles(t) {
		for _, flavour := range []string{Plain, FunctionMesh} {
			t.Run(meshName(file)+"/"+flavour, func(t *testing.T) {
				checkGolden(t, path.Join("testdata/golden", meshName(file), flavour), emitFile(t, file, flavour))
			})
		}
	}
}

// TestDeterministic emits each mesh twice: the bytes must not change.
func TestDeterministic(t *testing.T) {
	for _, file := range meshFiles(t) {
		for _, flavour := range []string{Plain, FunctionMesh} {
			a, b := emitFile(t, file, flavour), emitFile(t, file, flavour)
			for i := range a {
				if string(a[i].Data) != string(b[i].Data) {
					t.Errorf("%s %s: %s differs between two runs", file, flavour, a[i].Path)
				}
			}
		}
	}
}

// TestEmitErrors: plans the backend cannot express are refused with a
// message that names the component and what to do.
func TestEmitErrors(t *testing.T) {
	tests := []struct {
		name    string
		flavour string
		edit    func(p *plan.Plan)
		want    string
	}{
		{"secret path not a Secret name", Plain, func(p *plan.Plan) {
			p.Components[1].Secrets = map[string]plan.Secret{"token": {Path: "Vault/orders", Key: "token"}}
		}, `secret token: "Vault/orders" names the Kubernetes Secret "Vault.orders", which is invalid`},
		{"secret key invalid", Plain, func(p *plan.Plan) {
			p.Components[1].Secrets = map[string]plan.Secret{"token": {Path: "orders", Key: "a key"}}
		}, `"a key" is not a valid key of a Kubernetes Secret`},
		{"autoscaling from zero", Plain, func(p *plan.Plan) {
			p.Components[1].Replicas = plan.Replicas{Min: 0, Max: 3}
		}, "min_replicas 0: the HorizontalPodAutoscaler scales down to 1 at least"},
		{"operator and zero replicas", FunctionMesh, func(p *plan.Plan) {
			p.Components[1].Replicas = plan.Replicas{Count: 0}
		}, "the Function Mesh operator runs 1 instance at least"},
		{"operator and two patterns", FunctionMesh, func(p *plan.Plan) {
			c := &p.Components[1]
			c.Inputs = append(c.Inputs, plan.Input{Topic: "a.*", Pattern: true}, plan.Input{Topic: "b.*", Pattern: true})
		}, "one topic pattern per function"},
		{"operator name too long", FunctionMesh, func(p *plan.Plan) {
			p.Components[1].Name = strings.Repeat("x", 40)
		}, "at most 43"},
		{"names that collide", Plain, func(p *plan.Plan) {
			p.Components[1].Name, p.Components[2].Name = "a_b", "a-b"
		}, `a_b and a-b both become the Kubernetes name "wordcount-a-b"`},
		{"name that cannot start a Service name", Plain, func(p *plan.Plan) {
			p.Mesh.Name = "_1mesh"
		}, "rename it to start with a letter"},
		{"unknown flavour", "helm", func(p *plan.Plan) {}, `unknown flavour "helm"`},
		{"unreadable pulsar URL", FunctionMesh, func(p *plan.Plan) {}, "--pulsar-url"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := loadPlan(t, "../../examples/wordcount.mesh", Plain)
			tt.edit(p)
			o := Options{Flavour: tt.flavour}
			if tt.name == "unreadable pulsar URL" {
				o.PulsarURL = "::"
			}
			_, err := Emit(p, o)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Emit error = %v, want it to say %q", err, tt.want)
			}
		})
	}
}

func TestDNSName(t *testing.T) {
	tests := []struct{ in, want string }{
		{"wordcount", "wordcount"},
		{"Order_Pipeline", "order-pipeline"},
		{"_x_", "x"},
	}
	for _, tt := range tests {
		if got := dnsName(tt.in); got != tt.want {
			t.Errorf("dnsName(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	long := dnsName(strings.Repeat("a", 60))
	if len(long) != maxName || !strings.HasPrefix(long, strings.Repeat("a", 43)+"-") || long == dnsName(strings.Repeat("a", 61)) {
		t.Errorf("dnsName(60 a) = %q, want 43 a, a hyphen and a hash of the whole name", long)
	}
}

// TestImage: --image wins over the plan's image, which wins over the
// default; --binary names the program the container runs.
func TestImage(t *testing.T) {
	p := loadPlan(t, "../../examples/wordcount.mesh", Plain)
	for _, tt := range []struct{ option, inPlan, want string }{
		{"", "", DefaultImage},
		{"", "registry.example/meshrt:1.2", "registry.example/meshrt:1.2"},
		{"registry.example/custom:3", "registry.example/meshrt:1.2", "registry.example/custom:3"},
	} {
		for i := range p.Components {
			p.Components[i].Runtime.Image = tt.inPlan
		}
		for _, flavour := range []string{Plain, FunctionMesh} {
			files, err := Emit(p, Options{Flavour: flavour, Image: tt.option, Binary: "shoprt"})
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range files {
				if data := string(f.Data); strings.Contains(data, `- "meshrt"`) || strings.Contains(data, `go: "meshrt"`) {
					t.Errorf("%s %s: runs meshrt, not --binary shoprt", flavour, f.Path)
				}
				if strings.Contains(string(f.Data), "image: ") && !strings.Contains(string(f.Data), `image: "`+tt.want+`"`) {
					t.Errorf("%s %s: want image %s in\n%s", flavour, f.Path, tt.want, f.Data)
				}
			}
		}
	}
}
