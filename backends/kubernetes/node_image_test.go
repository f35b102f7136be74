//go:build e2e

package kubernetes

import (
	"archive/tar"
	"bytes"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// Images for the node. No registry is reachable, so a test builds a static
// Go binary, makes a one-layer image of it with go-containerregistry and
// imports that into the node's containerd; pods then run it with
// imagePullPolicy: Never.

// loadImage builds the Go main package pkg (a path from the test's folder,
// such as ./testdata/node/pause) into image ref, with the binary as its
// entrypoint, and imports it into the node.
func (n *node) loadImage(t *testing.T, ref, pkg string) {
	t.Helper()
	dir := filepath.Join(n.dir, "images")
	bin := buildStatic(t, dir, pkg)
	n.importImage(t, writeImage(t, ref, bin, filepath.Join(dir, path.Base(pkg)+".tar")))
}

// buildStatic builds the Go main package pkg into dir and returns the
// binary's path. Images have no C library, hence CGO_ENABLED=0.
func buildStatic(t *testing.T, dir, pkg string) string {
	t.Helper()
	out := filepath.Join(dir, path.Base(pkg))
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", out, pkg)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building %s for an image: %v\n%s", pkg, err, msg)
	}
	return out
}

// writeImage writes image ref, holding only the binary bin at /NAME as its
// entrypoint, to the tarball out (the `docker save` format, which ctr
// imports), and returns out.
func writeImage(t *testing.T, ref, bin, out string) string {
	t.Helper()
	layer, err := binaryLayer(bin)
	if err != nil {
		t.Fatalf("a layer of %s: %v", bin, err)
	}
	img, err := mutate.AppendLayers(empty.Image, layer)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", runtime.GOARCH
	cf.Config = v1.Config{Entrypoint: []string{"/" + filepath.Base(bin)}, Env: []string{"PATH=/"}}
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		t.Fatal(err)
	}
	tag, err := name.NewTag(ref)
	if err != nil {
		t.Fatalf("image name %q: %v", ref, err)
	}
	if err := tarball.WriteToFile(out, tag, img); err != nil {
		t.Fatalf("writing image %s: %v", ref, err)
	}
	return out
}

// binaryLayer is a layer holding bin, executable, at the root.
func binaryLayer(bin string) (v1.Layer, error) {
	data, err := os.ReadFile(bin)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	hdr := &tar.Header{Name: filepath.Base(bin), Mode: 0o755, Size: int64(len(data)), Typeflag: tar.TypeReg}
	if err := tw.WriteHeader(hdr); err != nil {
		return nil, err
	}
	if _, err := tw.Write(data); err != nil {
		return nil, err
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(buf.Bytes())), nil
	})
}

// importImage imports an image tarball (`docker save` or OCI format) into
// the node's containerd, where the kubelet finds it.
func (n *node) importImage(t *testing.T, tarball string) {
	t.Helper()
	out, err := n.ctr("images", "import", tarball)
	if err != nil {
		t.Fatalf("ctr images import %s: %v\n%s\n%s", tarball, err, strings.TrimSpace(string(out)), n.proc("containerd").tail())
	}
}
