package image

import (
	"archive/tar"
	"bytes"
	"context"
	"debug/elf"
	"errors"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// meshrtBuild is the image of pyMesh with meshrt cross-compiled for the
// default platforms, built once per test binary: that takes a minute or
// more per platform.
var meshrtBuild struct {
	sync.Once
	img *Image
	err error
}

func meshrtImage(t *testing.T, o Options) *Image {
	t.Helper()
	if testing.Short() {
		t.Skip("cross-compiles meshrt, a minute or more per platform")
	}
	meshrtBuild.Do(func() {
		meshrtBuild.img, meshrtBuild.err = buildMeshrt(o)
	})
	if meshrtBuild.err != nil {
		t.Fatal(meshrtBuild.err)
	}
	return meshrtBuild.img
}

func buildMeshrt(o Options) (*Image, error) {
	ctx := context.Background()
	b, err := Meshrt(ctx, ".", io.Discard)
	if err != nil {
		return nil, err
	}
	o.Binary = b
	return Build(ctx, o)
}

// TestMeshrt builds meshrt from this module for each default platform:
// each image's binary is a static Linux executable of its platform, and
// building again gives the same digest.
func TestMeshrt(t *testing.T) {
	o := testOptions(t)
	img := meshrtImage(t, o)
	im, err := img.Index.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range im.Manifests {
		one, err := img.Index.Image(d.Digest)
		if err != nil {
			t.Fatal(err)
		}
		checkMeshrt(t, one, *d.Platform)
	}
	first := digest(t, img)
	again, err := buildMeshrt(o)
	if err != nil {
		t.Fatal(err)
	}
	second := digest(t, again)
	t.Logf("meshrt image built twice: %s, %s", first, second)
	if first != second {
		t.Errorf("two builds of the same inputs: %s and %s", first, second)
	}
}

// checkMeshrt reads meshrt out of the image's last layer.
func checkMeshrt(t *testing.T, img v1.Image, p v1.Platform) {
	t.Helper()
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	data := layerFile(t, layers[len(layers)-1], "usr/local/bin/meshrt")
	path := filepath.Join(t.TempDir(), "meshrt")
	if err := os.WriteFile(path, data, 0o755); err != nil {
		t.Fatal(err)
	}
	got, err := ELFPlatform(path)
	if err != nil || got.String() != p.String() {
		t.Errorf("meshrt for %s is for %s (%v)", p, got, err)
	}
	f, err := elf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, prog := range f.Progs {
		if prog.Type == elf.PT_INTERP {
			t.Errorf("meshrt for %s is dynamically linked: built with cgo", p)
		}
	}
}

func layerFile(t *testing.T, l v1.Layer, name string) []byte {
	t.Helper()
	rc, err := l.Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			t.Fatalf("no %s in the layer", name)
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Name == name {
			var b bytes.Buffer
			if _, err := io.Copy(&b, tr); err != nil {
				t.Fatal(err)
			}
			return b.Bytes()
		}
	}
}
