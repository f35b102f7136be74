package image

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/match"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Annotations of an image layout's index.json that name an image: the
// full name, which ctr images import and docker load take, and the tag,
// as the OCI image layout defines it.
const (
	annotationImageName = "io.containerd.image.name"
	annotationRefName   = "org.opencontainers.image.ref.name"
)

// LocalRegistry names images that are in no registry, as ko.local does
// for ko: the default name in a tar or layout.
const LocalRegistry = "meshc.local"

// DefaultTag is the name an image of the mesh gets in a tar or a layout
// when it is given none: meshc.local/MESH:latest, lower-cased, since
// repository names are.
func DefaultTag(mesh string) (name.Tag, error) {
	repo := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '.' || r == '_' {
			return r
		}
		return '-'
	}, strings.ToLower(mesh))
	return name.NewTag(LocalRegistry + "/" + strings.Trim(repo, "-._") + ":latest")
}

// Push writes the image to ref, with credentials from kc (default
// authn.DefaultKeychain, which reads docker's configuration and
// credential helpers), and returns its name by digest.
func Push(ctx context.Context, img *Image, ref name.Reference, kc authn.Keychain) (name.Digest, error) {
	if kc == nil {
		kc = authn.DefaultKeychain
	}
	opts := []remote.Option{remote.WithContext(ctx), remote.WithAuthFromKeychain(kc)}
	var err error
	if img.Index != nil {
		err = remote.WriteIndex(ref, img.Index, opts...)
	} else {
		err = remote.Write(ref, img.Image, opts...)
	}
	if err != nil {
		return name.Digest{}, fmt.Errorf("pushing to %s: %w: check the name, and log in to the registry (docker login) if it needs credentials", ref, err)
	}
	return byDigest(img, ref.Context())
}

func byDigest(img *Image, repo name.Repository) (name.Digest, error) {
	d, err := img.Digest()
	if err != nil {
		return name.Digest{}, err
	}
	return repo.Digest(d.String()), nil
}

// WriteLayout writes the image into the OCI image layout in dir, made if
// need be, named tag there; an image of that name already in it is
// replaced (its blobs stay).
func WriteLayout(dir string, img *Image, tag name.Tag) (name.Digest, error) {
	p, err := layout.FromPath(dir)
	if err != nil {
		if p, err = layout.Write(dir, empty.Index); err != nil {
			return name.Digest{}, fmt.Errorf("writing the image layout: %w", err)
		}
	}
	ann := layout.WithAnnotations(tagAnnotations(tag))
	same := match.Annotation(annotationImageName, fullName(tag))
	if img.Index != nil {
		err = p.ReplaceIndex(img.Index, same, ann)
	} else {
		err = p.ReplaceImage(img.Image, same, ann)
	}
	if err != nil {
		return name.Digest{}, fmt.Errorf("writing the image layout: %w", err)
	}
	return byDigest(img, tag.Context())
}

func tagAnnotations(tag name.Tag) map[string]string {
	return map[string]string{annotationImageName: fullName(tag), annotationRefName: tag.TagStr()}
}

// digestName is the image by digest, in the repository of tag, as
// containerd writes names.
func digestName(tag name.Tag, d v1.Hash) string {
	full := fullName(tag)
	return full[:strings.LastIndex(full, ":")] + "@" + d.String()
}

// fullName is the tag as containerd and docker write it: Docker Hub is
// docker.io, not index.docker.io.
func fullName(tag name.Tag) string {
	reg := tag.RegistryStr()
	if reg == name.DefaultRegistry {
		reg = "docker.io"
	}
	return reg + "/" + tag.RepositoryStr() + ":" + tag.TagStr()
}

// WriteTar writes the image as a tar of an OCI image layout, named tag:
// ctr images import reads it, docker load (Docker 25 and later) too, and
// so does a registry-less copy (crane, skopeo oci-archive:). It holds no
// docker manifest.json: containerd would import that as a second manifest
// of its own making, under the same name and with another digest, and a
// pod naming the image by the digest meshc image prints would not find
// it. The tar is the same bytes for the same image.
func WriteTar(w io.Writer, img *Image, tag name.Tag) (name.Digest, error) {
	files, err := layoutFiles(img, tag)
	if err != nil {
		return name.Digest{}, err
	}
	if err := writeTarFiles(w, files); err != nil {
		return name.Digest{}, fmt.Errorf("writing the image tar: %w", err)
	}
	return byDigest(img, tag.Context())
}

// tarFile is a file of the tar, read when it is written: layers can be
// large.
type tarFile struct {
	size int64
	open func() (io.ReadCloser, error)
}

func bytesFile(b []byte) tarFile {
	return tarFile{size: int64(len(b)), open: func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }}
}

// layoutFiles are the tar's files by name: oci-layout, index.json and
// every blob.
func layoutFiles(img *Image, tag name.Tag) (map[string]tarFile, error) {
	var top partial.Describable = img.Image
	if img.Index != nil {
		top = img.Index
	}
	desc, err := partial.Descriptor(top)
	if err != nil {
		return nil, err
	}
	byTag, byDigest := *desc, *desc
	byTag.Annotations = tagAnnotations(tag)
	// Named by digest too: containerd then holds that name, which a pod's
	// image REF@sha256:... resolves to (its CRI finds images by name; only
	// its own pulls add digest names).
	byDigest.Annotations = map[string]string{annotationImageName: digestName(tag, desc.Digest)}
	index, err := json.Marshal(v1.IndexManifest{SchemaVersion: 2, MediaType: types.OCIImageIndex, Manifests: []v1.Descriptor{byTag, byDigest}})
	if err != nil {
		return nil, err
	}
	files := map[string]tarFile{
		"oci-layout": bytesFile([]byte(`{"imageLayoutVersion":"1.0.0"}`)),
		"index.json": bytesFile(index),
	}
	if img.Index != nil {
		return files, addIndex(files, img.Index)
	}
	return files, addImage(files, img.Image)
}

func blobPath(h v1.Hash) string { return "blobs/" + h.Algorithm + "/" + h.Hex }

func addIndex(files map[string]tarFile, idx v1.ImageIndex) error {
	raw, err := idx.RawManifest()
	if err != nil {
		return err
	}
	d, err := idx.Digest()
	if err != nil {
		return err
	}
	files[blobPath(d)] = bytesFile(raw)
	m, err := idx.IndexManifest()
	if err != nil {
		return err
	}
	for _, desc := range m.Manifests {
		img, err := idx.Image(desc.Digest)
		if err != nil {
			return err
		}
		if err := addImage(files, img); err != nil {
			return err
		}
	}
	return nil
}

func addImage(files map[string]tarFile, img v1.Image) error {
	raw, err := img.RawManifest()
	if err != nil {
		return err
	}
	d, err := img.Digest()
	if err != nil {
		return err
	}
	files[blobPath(d)] = bytesFile(raw)
	cfg, err := img.RawConfigFile()
	if err != nil {
		return err
	}
	cd, err := img.ConfigName()
	if err != nil {
		return err
	}
	files[blobPath(cd)] = bytesFile(cfg)
	layers, err := img.Layers()
	if err != nil {
		return err
	}
	for _, l := range layers {
		ld, err := l.Digest()
		if err != nil {
			return err
		}
		size, err := l.Size()
		if err != nil {
			return err
		}
		files[blobPath(ld)] = tarFile{size: size, open: l.Compressed}
	}
	return nil
}

// writeTarFiles writes files sorted by name after their folders, with
// fixed times, modes and owners.
func writeTarFiles(w io.Writer, files map[string]tarFile) error {
	tw := tar.NewWriter(w)
	epoch := time.Unix(0, 0)
	dirs := map[string]bool{}
	for _, n := range slices.Sorted(maps.Keys(files)) {
		if i := strings.LastIndexByte(n, '/'); i > 0 {
			for _, d := range parentDirs(n[:i]) {
				if !dirs[d] {
					dirs[d] = true
					if err := tw.WriteHeader(&tar.Header{Name: d + "/", Typeflag: tar.TypeDir, Mode: modeDir, ModTime: epoch}); err != nil {
						return err
					}
				}
			}
		}
		if err := writeTarFile(tw, n, files[n], epoch); err != nil {
			return err
		}
	}
	return tw.Close()
}

// parentDirs are "a", "a/b" for "a/b".
func parentDirs(dir string) []string {
	var ds []string
	for i, r := range dir {
		if r == '/' {
			ds = append(ds, dir[:i])
		}
	}
	return append(ds, dir)
}

func writeTarFile(tw *tar.Writer, n string, f tarFile, t time.Time) error {
	if err := tw.WriteHeader(&tar.Header{Name: n, Typeflag: tar.TypeReg, Mode: modeFile, Size: f.size, ModTime: t}); err != nil {
		return err
	}
	rc, err := f.open()
	if err != nil {
		return err
	}
	defer rc.Close()
	_, err = io.Copy(tw, rc)
	return err
}
