package image

import (
	"archive/tar"
	"bytes"
	"io"
	"path"
	"slices"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Modes of what meshc puts in an image. Everything is owned by root but
// the non-root user's home and the instance binary: instances read the
// image and write nowhere in it (Kubernetes mounts it read-only). The
// binary is the user's own because the Function Mesh operator's pod
// command runs chmod +x on it, which only a file's owner may.
const (
	modeDir  = 0o755
	modeFile = 0o644
	modeExec = 0o755
	modeTmp  = 0o1777 // like /tmp anywhere: everyone writes, each their own
	modeHome = 0o700
	modeLink = 0o777 // as symbolic links are everywhere
)

// entry is a file or folder of a layer.
type entry struct {
	path     string // absolute, in the image
	dir      bool
	link     string // the target of a symbolic link
	mode     int64
	uid, gid int
	data     []byte
}

// layerOf makes a layer that is the same bytes for the same entries: its
// tar lists them sorted by path, after their parent folders (made as
// needed), all with the one time.
func layerOf(entries []entry, created time.Time, mt types.MediaType) (v1.Layer, error) {
	data, err := tarOf(withParents(entries), created)
	if err != nil {
		return nil, err
	}
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(data)), nil
	}, tarball.WithMediaType(mt), tarball.WithCompressedCaching)
}

// withParents adds the folders entries are in, owned by root, and sorts
// the lot by path; a folder sorts before what it holds.
func withParents(entries []entry) []entry {
	have := map[string]bool{}
	for _, e := range entries {
		have[e.path] = true
	}
	all := slices.Clone(entries)
	for _, e := range entries {
		for d := path.Dir(e.path); d != "/" && !have[d]; d = path.Dir(d) {
			have[d] = true
			all = append(all, entry{path: d, dir: true, mode: modeDir})
		}
	}
	slices.SortFunc(all, func(a, b entry) int { return strings.Compare(tarName(a), tarName(b)) })
	return all
}

// tarName is an entry's name in the tar: relative, folders ending in /.
func tarName(e entry) string {
	name := strings.TrimPrefix(e.path, "/")
	if e.dir {
		name += "/"
	}
	return name
}

func tarOf(entries []entry, created time.Time) ([]byte, error) {
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	for _, e := range entries {
		h := &tar.Header{Name: tarName(e), Mode: e.mode, Uid: e.uid, Gid: e.gid, ModTime: created, Typeflag: tar.TypeReg, Size: int64(len(e.data))}
		switch {
		case e.dir:
			h.Typeflag, h.Size = tar.TypeDir, 0
		case e.link != "":
			h.Typeflag, h.Linkname, h.Size = tar.TypeSymlink, e.link, 0
		}
		if err := tw.WriteHeader(h); err != nil {
			return nil, err
		}
		if _, err := tw.Write(e.data); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
