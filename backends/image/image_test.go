package image

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/meshc/meshc/runtime/podshell"
)

var epoch = time.Unix(0, 0).UTC()

// Directory and file entries of what the image holds.
func dir(name string) tarEntry  { return tarEntry{Name: name, Mode: modeDir, ModTime: epoch} }
func file(name string) tarEntry { return tarEntry{Name: name, Mode: modeFile, ModTime: epoch} }

// filesLayer is the first layer of pyMesh's image on the empty base.
var filesLayer = []tarEntry{
	dir("etc/"),
	file("etc/group"),
	file("etc/passwd"),
	dir("etc/ssl/"),
	dir("etc/ssl/certs/"),
	file("etc/ssl/certs/ca-certificates.crt"),
	dir("home/"),
	{Name: "home/nonroot/", Mode: modeHome, UID: UID, GID: GID, ModTime: epoch},
	dir("mesh/"),
	file("mesh/echo.wasm"),
	dir("mesh/fn/"),
	file("mesh/fn/shout.py"),
	{Name: "tmp/", Mode: modeTmp, ModTime: epoch},
	dir("usr/"),
	dir("usr/local/"),
	dir("usr/local/lib/"),
	dir("usr/local/lib/meshc/"),
	dir("usr/local/lib/meshc/python/"),
	file("usr/local/lib/meshc/python/meshc_function.py"),
}

var binaryLayer = []tarEntry{
	dir("usr/"),
	dir("usr/local/"),
	dir("usr/local/bin/"),
	{Name: "usr/local/bin/meshrt", Mode: modeExec, UID: UID, GID: GID, ModTime: epoch},
	dir("usr/local/lib/"),
	dir("usr/local/lib/meshc/"),
	dir("usr/local/lib/meshc/bin/"),
	tool("bash"),
	tool("chmod"),
	tool("ls"),
	tool("sh"),
}

// TestTools: every link in ToolDir is a command the binary provides.
func TestTools(t *testing.T) {
	for _, name := range Tools {
		if !podshell.Tool(name) {
			t.Errorf("%s links %s to the instance binary, which is not that command", ToolDir, name)
		}
	}
}

func tool(name string) tarEntry {
	return tarEntry{Name: "usr/local/lib/meshc/bin/" + name, Link: "/usr/local/bin/meshrt", Mode: modeLink, ModTime: epoch}
}

// TestBuild checks each platform's image of a mesh with a Python and a
// WebAssembly function: the index, layers, user, folder, environment and
// entrypoint.
func TestBuild(t *testing.T) {
	img := build(t, testOptions(t))
	if img.Index == nil {
		t.Fatal("two platforms gave no index")
	}
	im, err := img.Index.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	var platforms []string
	for _, d := range im.Manifests {
		platforms = append(platforms, d.Platform.String())
	}
	if diff := cmp.Diff([]string{"linux/amd64", "linux/arm64"}, platforms); diff != "" {
		t.Errorf("index platforms (-want +got):\n%s", diff)
	}
	if im.MediaType != types.OCIImageIndex {
		t.Errorf("index media type %s, want %s", im.MediaType, types.OCIImageIndex)
	}
	for _, d := range im.Manifests {
		t.Run(d.Platform.String(), func(t *testing.T) {
			one, err := img.Index.Image(d.Digest)
			if err != nil {
				t.Fatal(err)
			}
			checkImage(t, one, *d.Platform)
		})
	}
}

func checkImage(t *testing.T, img v1.Image, p v1.Platform) {
	t.Helper()
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	if len(layers) != 2 {
		t.Fatalf("%d layers, want 2: the mesh's files and the binary", len(layers))
	}
	for i, want := range [][]tarEntry{filesLayer, binaryLayer} {
		if diff := cmp.Diff(want, layerEntries(t, layers[i])); diff != "" {
			t.Errorf("layer %d (-want +got):\n%s", i, diff)
		}
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	want := v1.Config{
		Entrypoint: []string{"/usr/local/bin/meshrt"},
		User:       "65532:65532",
		WorkingDir: "/mesh",
		Env: []string{
			"HOME=/home/nonroot",
			"PATH=/usr/local/bin:/usr/bin:/bin:/usr/local/lib/meshc/bin",
			"PYTHONPATH=/usr/local/lib/meshc/python",
			"SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt",
		},
	}
	if diff := cmp.Diff(want, cf.Config); diff != "" {
		t.Errorf("config (-want +got):\n%s", diff)
	}
	if cf.OS != p.OS || cf.Architecture != p.Architecture || !cf.Created.Time.Equal(epoch) {
		t.Errorf("config is for %s/%s, created %v; want %s, 1970", cf.OS, cf.Architecture, cf.Created, p)
	}
}

// TestBuildOne checks that one platform gives an image, not an index, and
// that an image without Python functions has no helper and no PYTHONPATH.
func TestBuildOne(t *testing.T) {
	dir := writeFiles(t, map[string]string{"w.mesh": `mesh w {}
topic in string external
function f(in) { use = wasm("m/f.wasm") }
`, "m/f.wasm": "\x00asm"})
	o := Options{Plan: planOf(t, dir, "w.mesh"), Dir: dir, Binary: fakeBinary(t), CACerts: testCerts(t),
		Platforms: []v1.Platform{{OS: "linux", Architecture: "arm64"}}}
	img := build(t, o)
	if img.Image == nil || img.Index != nil {
		t.Fatal("one platform gave an index")
	}
	layers, err := img.Image.Layers()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range layerEntries(t, layers[0]) {
		names = append(names, e.Name)
	}
	for _, name := range []string{"mesh/m/f.wasm", "etc/ssl/certs/ca-certificates.crt"} {
		if !slices.Contains(names, name) {
			t.Errorf("layer lacks %s: %v", name, names)
		}
	}
	if slices.Contains(names, "usr/local/lib/meshc/python/meshc_function.py") {
		t.Errorf("the Python helper is in an image without Python functions")
	}
	cf, err := img.Image.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	for _, kv := range cf.Config.Env {
		if strings.HasPrefix(kv, "PYTHONPATH=") {
			t.Errorf("env has %s without Python functions", kv)
		}
	}
}

// TestReproducible builds twice and compares digests: the same inputs
// give the same digest; a change of time, file or binary name does not.
func TestReproducible(t *testing.T) {
	base := testOptions(t)
	first := digest(t, build(t, base))
	t.Logf("digest of the index: %s", first)
	tests := []struct {
		name   string
		change func(t *testing.T, o *Options)
		same   bool
	}{
		{"same inputs", func(*testing.T, *Options) {}, true},
		{"same inputs, epoch given", func(_ *testing.T, o *Options) { o.Created = time.Unix(0, 0) }, true},
		{"SOURCE_DATE_EPOCH", func(_ *testing.T, o *Options) { o.Created = time.Unix(1700000000, 0) }, false},
		{"a file changed", func(t *testing.T, o *Options) {
			files := map[string]string{}
			for k, v := range pyMesh {
				files[k] = v
			}
			files["fn/shout.py"] += "# changed\n"
			o.Dir = writeFiles(t, files)
		}, false},
		{"binary renamed", func(_ *testing.T, o *Options) { o.Binary.Name = "mybin" }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := base
			tt.change(t, &o)
			got := digest(t, build(t, o))
			if (got == first) != tt.same {
				t.Errorf("digest %s, first %s: want same = %v", got, first, tt.same)
			}
		})
	}
}

// TestGoFunctions refuses meshrt for a mesh with go(...) functions, and
// takes a user's binary.
func TestGoFunctions(t *testing.T) {
	dir := writeFiles(t, map[string]string{"g.mesh": `mesh g {}
topic in string external
function enrich(in) { use = go("Enrich") }
`})
	p := planOf(t, dir, "g.mesh")
	tests := []struct {
		name    string
		binary  Binary
		wantErr string
	}{
		{"meshrt", Binary{Name: MeshrtName, Standard: true}, `function enrich: uses go("Enrich"), which meshrt does not have`},
		{"own binary", Binary{Name: "shop"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := GoFunctions(p, tt.binary)
			if got := errText(err); !strings.HasPrefix(got, tt.wantErr) {
				t.Errorf("error %q, want it to start with %q", got, tt.wantErr)
			}
		})
	}
	o := Options{Plan: p, Dir: dir, Binary: fakeBinary(t), CACerts: testCerts(t)}
	o.Binary.Standard = true
	if _, err := Build(context.Background(), o); err == nil {
		t.Error("Build took meshrt for a go(...) function")
	}
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// TestBinaryPlatform refuses a ready-made binary for another platform.
func TestBinaryPlatform(t *testing.T) {
	o := testOptions(t)
	b, err := Prebuilt(fakeELF(t, t.TempDir(), "amd64", 0))
	if err != nil {
		t.Fatal(err)
	}
	o.Binary = b
	o.Platforms = []v1.Platform{{OS: "linux", Architecture: "amd64"}, {OS: "linux", Architecture: "arm64"}}
	if _, err := Build(context.Background(), o); !errors.Is(err, ErrBinaryPlatform) {
		t.Errorf("error %v, want ErrBinaryPlatform", err)
	}
	o.Platforms = nil // the binary's own
	img := build(t, o)
	cf, err := img.Image.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if cf.Architecture != "amd64" || cf.Config.Entrypoint[0] != "/usr/local/bin/fake-amd64" {
		t.Errorf("image for %s running %v, want amd64 running /usr/local/bin/fake-amd64", cf.Architecture, cf.Config.Entrypoint)
	}
}
