package image

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// testRegistry serves a registry on 127.0.0.1 for the test and returns
// its host:port.
func testRegistry(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

func pull(t *testing.T, ref name.Reference) *remote.Descriptor {
	t.Helper()
	desc, err := remote.Get(ref, remote.WithAuthFromKeychain(authn.DefaultKeychain))
	if err != nil {
		t.Fatal(err)
	}
	return desc
}

// TestPush pushes an index and an image to a registry, pulls them back
// by the name Push returns, and compares digests.
func TestPush(t *testing.T) {
	host := testRegistry(t)
	multi := build(t, testOptions(t))
	o := testOptions(t)
	o.Platforms = []v1.Platform{{OS: "linux", Architecture: "amd64"}}
	one := build(t, o)
	tests := []struct {
		name      string
		img       *Image
		ref       string
		mediaType types.MediaType
	}{
		{"index", multi, host + "/shop/multi:v1", types.OCIImageIndex},
		{"image", one, host + "/shop/one:v1", types.OCIManifestSchema1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ref, err := name.ParseReference(tt.ref)
			if err != nil {
				t.Fatal(err)
			}
			byDigest, err := Push(context.Background(), tt.img, ref, nil)
			if err != nil {
				t.Fatal(err)
			}
			want := digest(t, tt.img)
			if diff := cmp.Diff(ref.Context().Name()+"@"+want.String(), byDigest.String()); diff != "" {
				t.Errorf("name by digest (-want +got):\n%s", diff)
			}
			for _, r := range []name.Reference{ref, byDigest} {
				desc := pull(t, r)
				if desc.Digest != want || desc.MediaType != tt.mediaType {
					t.Errorf("pulled %s: %s %s, want %s %s", r, desc.MediaType, desc.Digest, tt.mediaType, want)
				}
			}
		})
	}
	// A platform's image pulled from the index is the one built.
	arm, err := remote.Image(mustRef(t, host+"/shop/multi:v1"), remote.WithPlatform(v1.Platform{OS: "linux", Architecture: "arm64"}))
	if err != nil {
		t.Fatal(err)
	}
	checkImage(t, arm, v1.Platform{OS: "linux", Architecture: "arm64"})
}

func mustRef(t *testing.T, s string) name.Reference {
	t.Helper()
	ref, err := name.ParseReference(s)
	if err != nil {
		t.Fatal(err)
	}
	return ref
}

// TestBase builds on a base image pulled from a registry: its layers come
// first, its PATH keeps its folders after BinDir, its command is dropped,
// and the non-root user's files are left to it.
func TestBase(t *testing.T) {
	host := testRegistry(t)
	baseRef := host + "/base/python:3"
	pushBase(t, baseRef)
	o := testOptions(t)
	o.Base = baseRef
	img := build(t, o)
	arm, err := img.Index.Image(childDigest(t, img.Index, "arm64"))
	if err != nil {
		t.Fatal(err)
	}
	layers, err := arm.Layers()
	if err != nil {
		t.Fatal(err)
	}
	if len(layers) != 3 {
		t.Fatalf("%d layers, want the base's and 2", len(layers))
	}
	if diff := cmp.Diff([]tarEntry{dir("usr/"), dir("usr/bin/"), {Name: "usr/bin/python3", Mode: modeExec, ModTime: epoch}}, layerEntries(t, layers[0])); diff != "" {
		t.Errorf("first layer is not the base's (-want +got):\n%s", diff)
	}
	for _, e := range layerEntries(t, layers[1]) {
		if strings.HasPrefix(e.Name, "etc/passwd") || strings.HasPrefix(e.Name, "home/") {
			t.Errorf("the files layer has %s over the base's", e.Name)
		}
	}
	cf, err := arm.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"PATH=/usr/local/bin:/usr/bin:/bin:/usr/local/lib/meshc/bin",
		"PYTHONPATH=/usr/local/lib/meshc/python:/opt/lib",
		"LANG=C.UTF-8",
		"SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt",
	}
	if diff := cmp.Diff(want, cf.Config.Env); diff != "" {
		t.Errorf("env (-want +got):\n%s", diff)
	}
	if cf.Config.Cmd != nil || cf.Architecture != "arm64" {
		t.Errorf("cmd %v for %s, want none for arm64", cf.Config.Cmd, cf.Architecture)
	}

	o.Platforms = []v1.Platform{{OS: "linux", Architecture: "riscv64"}}
	if _, err := Build(context.Background(), o); err == nil || !strings.Contains(err.Error(), "linux/riscv64") {
		t.Errorf("a base without riscv64: error %v, want one naming linux/riscv64", err)
	}
}

// pushBase pushes a base image for amd64 and arm64 with a python3, an
// environment and a command.
func pushBase(t *testing.T, ref string) {
	t.Helper()
	py, err := layerOf([]entry{{path: "/usr/bin/python3", mode: modeExec, data: []byte("#!python")}}, epoch, types.OCILayer)
	if err != nil {
		t.Fatal(err)
	}
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	for _, arch := range []string{"amd64", "arm64"} {
		img, err := mutate.AppendLayers(mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON), py)
		if err != nil {
			t.Fatal(err)
		}
		cf, err := img.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		cf.OS, cf.Architecture = "linux", arch
		cf.Config.Env = []string{"PATH=/usr/bin:/bin", "PYTHONPATH=/opt/lib", "LANG=C.UTF-8"}
		cf.Config.Cmd = []string{"python3"}
		if img, err = mutate.ConfigFile(img, cf); err != nil {
			t.Fatal(err)
		}
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: arch}}})
	}
	if err := remote.WriteIndex(mustRef(t, ref), idx); err != nil {
		t.Fatal(err)
	}
}

func childDigest(t *testing.T, idx v1.ImageIndex, arch string) v1.Hash {
	t.Helper()
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range im.Manifests {
		if d.Platform != nil && d.Platform.Architecture == arch {
			return d.Digest
		}
	}
	t.Fatalf("no %s in the index", arch)
	return v1.Hash{}
}

// TestWriteTar writes tars of an index and of one image and reads them
// back as an OCI image layout (what ctr images import and docker load
// read), with no docker manifest.json. The same image gives the same tar.
func TestWriteTar(t *testing.T) {
	tag, err := name.NewTag("meshc.local/shop:latest")
	if err != nil {
		t.Fatal(err)
	}
	o := testOptions(t)
	multi := build(t, o)
	o.Platforms = []v1.Platform{{OS: "linux", Architecture: "arm64"}}
	one := build(t, o)
	for _, tt := range []struct {
		name string
		img  *Image
	}{{"index", multi}, {"image", one}} {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			ref, err := WriteTar(&b, tt.img, tag)
			if err != nil {
				t.Fatal(err)
			}
			want := digest(t, tt.img)
			if ref.DigestStr() != want.String() || ref.Context().Name() != "meshc.local/shop" {
				t.Errorf("WriteTar gave %s, want meshc.local/shop@%s", ref, want)
			}
			var again bytes.Buffer
			if _, err := WriteTar(&again, tt.img, tag); err != nil || !bytes.Equal(b.Bytes(), again.Bytes()) {
				t.Errorf("a second tar of the same image differs (%v)", err)
			}
			path := filepath.Join(t.TempDir(), "img.tar")
			if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
			checkLayoutTar(t, path, want, tag)
			if _, has := tarFiles(t, path)["manifest.json"]; has {
				t.Errorf("the tar holds a docker manifest.json: containerd would import a second manifest under the name")
			}
		})
	}
}

// tarFiles reads a tar into memory by name.
func tarFiles(t *testing.T, path string) map[string][]byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	files := map[string][]byte{}
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return files
		}
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		files[h.Name] = data
	}
}

// checkLayoutTar unpacks the tar and reads it as an image layout: its one
// entry is the image, named by the tag.
func checkLayoutTar(t *testing.T, path string, want v1.Hash, tag name.Tag) {
	t.Helper()
	dir := t.TempDir()
	for n, data := range tarFiles(t, path) {
		if strings.HasSuffix(n, "/") {
			continue
		}
		p := filepath.Join(dir, filepath.FromSlash(n))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	checkLayout(t, dir, want, tag)
}

func checkLayout(t *testing.T, dir string, want v1.Hash, tag name.Tag) {
	t.Helper()
	lp, err := layout.FromPath(dir)
	if err != nil {
		t.Fatal(err)
	}
	idx, err := lp.ImageIndex()
	if err != nil {
		t.Fatal(err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	// A layout folder names the image by its tag; a tar by digest too, for
	// containerd.
	if len(im.Manifests) < 1 || len(im.Manifests) > 2 {
		t.Fatalf("layout index %+v, want one or two entries of %s", im.Manifests, want)
	}
	wantAnn := []map[string]string{
		{"io.containerd.image.name": "meshc.local/shop:latest", "org.opencontainers.image.ref.name": "latest"},
		{"io.containerd.image.name": "meshc.local/shop@" + want.String()},
	}
	for i, m := range im.Manifests {
		if m.Digest != want {
			t.Errorf("layout index entry %d is %s, want %s", i, m.Digest, want)
		}
		if diff := cmp.Diff(wantAnn[i], m.Annotations); diff != "" {
			t.Errorf("annotations of entry %d (-want +got):\n%s", i, diff)
		}
	}
	// Every blob is there and matches its digest: validate reads them all.
	if im.Manifests[0].MediaType.IsIndex() {
		child, err := idx.ImageIndex(want)
		if err != nil {
			t.Fatal(err)
		}
		if d := digest(t, child); d != want {
			t.Errorf("layout index digest %s, want %s", d, want)
		}
		return
	}
	img, err := idx.Image(want)
	if err != nil {
		t.Fatal(err)
	}
	checkBlobs(t, img)
}

// checkBlobs reads every layer of img, which checks them against their
// digests.
func checkBlobs(t *testing.T, img v1.Image) {
	t.Helper()
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range layers {
		rc, err := l.Compressed()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.Copy(io.Discard, rc); err != nil {
			t.Fatal(err)
		}
		rc.Close()
	}
}

// TestWriteLayout writes into a new layout folder, then again: the image
// of the same name is replaced, not added.
func TestWriteLayout(t *testing.T) {
	tag, err := name.NewTag("meshc.local/shop:latest")
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "layout")
	img := build(t, testOptions(t))
	for range 2 {
		ref, err := WriteLayout(dir, img, tag)
		if err != nil {
			t.Fatal(err)
		}
		if want := "meshc.local/shop@" + digest(t, img).String(); ref.String() != want {
			t.Errorf("WriteLayout gave %s, want %s", ref, want)
		}
		checkLayout(t, dir, digest(t, img), tag)
	}
}

func TestDefaultTag(t *testing.T) {
	for mesh, want := range map[string]string{
		"wordcount":   "meshc.local/wordcount:latest",
		"Order_Flow":  "meshc.local/order_flow:latest",
		"shop.v2 eu!": "meshc.local/shop.v2-eu:latest",
	} {
		tag, err := DefaultTag(mesh)
		if err != nil || tag.Name() != want {
			t.Errorf("DefaultTag(%q) = %v, %v; want %s", mesh, tag, err, want)
		}
	}
}
