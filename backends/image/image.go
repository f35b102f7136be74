package image

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/meshc/meshc/backends"
	"github.com/meshc/meshc/planner/plan"
	"github.com/meshc/meshc/runtime/external/python"
)

// Where things are in an image, and who runs it.
const (
	// WorkDir is the instances' working folder: it holds the mesh's files
	// at their paths relative to the mesh file, as meshc run finds them.
	WorkDir = "/mesh"
	// BinDir holds the instance binary. It is on PATH, so manifests that
	// run it by name (command: ["meshrt"]) find it.
	BinDir = "/usr/local/bin"
	// ToolDir holds the commands pod command lines expect around the
	// instance binary (the Function Mesh operator's bash -c line with ls
	// and chmod): links to the binary, which is them when called by their
	// names (runtime/podshell). It comes last on PATH, so a base image's
	// own shell and tools win.
	ToolDir = "/usr/local/lib/meshc/bin"
	// PythonDir holds the Python helper, on PYTHONPATH.
	PythonDir = "/usr/local/lib/meshc/python"
	// CACerts is where the CA certificates are, in the image as on this
	// machine: Go's and Python's TLS look there.
	CACerts = "/etc/ssl/certs/ca-certificates.crt"
	// UID and GID are the non-root user that runs instances, distroless's
	// nonroot, which Kubernetes manifests ask for (runAsNonRoot).
	UID, GID = 65532, 65532
	// HomeDir is that user's home in an image on the empty base.
	HomeDir = "/home/nonroot"
	// defaultPath is PATH in an image on the empty base.
	defaultPath = BinDir + ":/usr/bin:/bin"
)

// Tools are the commands in ToolDir.
var Tools = []string{"bash", "chmod", "ls", "sh"}

// Options say what goes into an image.
type Options struct {
	Plan *plan.Plan
	// Dir is the mesh file's folder: relative paths of exec(...) and
	// wasm(...) functions start there.
	Dir    string
	Binary Binary
	// Platforms are the platforms to build for; default DefaultPlatforms,
	// or the binary's own when it has one.
	Platforms []v1.Platform
	// Base is the reference of the base image; "" is the empty image.
	Base     string
	Keychain authn.Keychain // for Base; default authn.DefaultKeychain
	// Created is every timestamp in what is built; the zero time is taken
	// as 1970-01-01, which keeps builds reproducible.
	Created time.Time
	// CACerts is the CA certificates file of this machine; default CACerts.
	CACerts string
	Log     io.Writer // progress; default nowhere
}

// Image is what Build makes: one image, or an index of one per platform.
type Image struct {
	Image v1.Image      // one platform
	Index v1.ImageIndex // several
	// Binary is the instance binary's path in the image, its entrypoint.
	Binary string
}

// Digest is the digest of the image or of the index.
func (i *Image) Digest() (v1.Hash, error) {
	if i.Index != nil {
		return i.Index.Digest()
	}
	return i.Image.Digest()
}

// Build builds the image of the mesh for every platform.
func Build(ctx context.Context, o Options) (*Image, error) {
	o, err := o.defaults()
	if err != nil {
		return nil, err
	}
	files, _, err := Files(o.Plan, o.Dir)
	if err != nil {
		return nil, err
	}
	if err := GoFunctions(o.Plan, o.Binary); err != nil {
		return nil, err
	}
	common, err := commonEntries(o, files)
	if err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp("", "meshc-image-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	var imgs []v1.Image
	for _, p := range o.Platforms {
		img, err := platformImage(ctx, o, p, common, tmp)
		if err != nil {
			return nil, err
		}
		imgs = append(imgs, img)
	}
	bin := path.Join(BinDir, o.Binary.Name)
	if len(imgs) == 1 {
		return &Image{Image: imgs[0], Binary: bin}, nil
	}
	idx, err := indexOf(imgs, o.Platforms)
	return &Image{Index: idx, Binary: bin}, err
}

func (o Options) defaults() (Options, error) {
	if o.Binary.file == nil {
		return o, errors.New("image: Options.Binary is required: use Meshrt, GoBuild or Prebuilt")
	}
	if len(o.Platforms) == 0 && o.Binary.Platform != nil {
		o.Platforms = []v1.Platform{*o.Binary.Platform}
	}
	if len(o.Platforms) == 0 {
		o.Platforms, _ = ParsePlatforms(DefaultPlatforms)
	}
	if o.Created.IsZero() {
		o.Created = time.Unix(0, 0)
	}
	o.Created = o.Created.UTC()
	if o.Keychain == nil {
		o.Keychain = authn.DefaultKeychain
	}
	if o.CACerts == "" {
		o.CACerts = CACerts
	}
	if o.Log == nil {
		o.Log = io.Discard
	}
	return o, nil
}

// GoFunctions refuses go("NAME") functions when the binary is meshrt,
// which has none of a user's, with an error at each one's use.
func GoFunctions(p *plan.Plan, b Binary) error {
	if !b.Standard {
		return nil
	}
	var errs []error
	for _, c := range p.Components {
		if c.Implementation.Kind == "go" {
			errs = append(errs, backends.Meshf(string(c.Kind), c.Name, "use", "uses go(%q), which meshrt does not have: build your instance binary into the image with --main ./PATH/TO/MAIN (its main registers the function and calls runtime.Main), or give it with --binary", c.Implementation.Name))
		}
	}
	return errors.Join(errs...)
}

// commonEntries are what every platform's image holds besides the
// binary: the mesh's files, the CA certificates, the Python helper when a
// function needs it, /tmp, and on the empty base the non-root user's
// entries in /etc/passwd and /etc/group and its home.
func commonEntries(o Options, files []File) ([]entry, error) {
	certs, err := os.ReadFile(o.CACerts)
	if err != nil {
		return nil, fmt.Errorf("reading this machine's CA certificates for the image: %w: install them (the ca-certificates package)", err)
	}
	es := []entry{
		{path: CACerts, mode: modeFile, data: certs},
		{path: WorkDir, dir: true, mode: modeDir},
		{path: "/tmp", dir: true, mode: modeTmp},
	}
	for _, f := range files {
		e, err := fileEntry(f)
		if err != nil {
			return nil, err
		}
		es = append(es, e)
	}
	if usesPython(o.Plan) {
		es = append(es, entry{path: path.Join(PythonDir, python.FileName), mode: modeFile, data: python.Helper})
	}
	if o.Base == "" {
		es = append(es, userEntries()...)
	}
	return es, nil
}

// fileEntry reads a mesh file; it stays executable if it is.
func fileEntry(f File) (entry, error) {
	st, err := os.Stat(f.Source)
	if err != nil {
		return entry{}, err
	}
	data, err := os.ReadFile(f.Source)
	if err != nil {
		return entry{}, err
	}
	mode := int64(modeFile)
	if st.Mode()&0o111 != 0 {
		mode = modeExec
	}
	return entry{path: f.Path, mode: mode, data: data}, nil
}

// userEntries name the non-root user, for programs that look up their
// user or home (Python's does), as distroless's images do.
func userEntries() []entry {
	id := strconv.Itoa(UID)
	passwd := "root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:" + id + ":" + strconv.Itoa(GID) + ":nonroot:" + HomeDir + ":/sbin/nologin\n"
	group := "root:x:0:\nnonroot:x:" + strconv.Itoa(GID) + ":\n"
	return []entry{
		{path: "/etc/passwd", mode: modeFile, data: []byte(passwd)},
		{path: "/etc/group", mode: modeFile, data: []byte(group)},
		{path: HomeDir, dir: true, mode: modeHome, uid: UID, gid: GID},
	}
}

// platformImage is the image for p: the base's for p, the common layer,
// the binary's layer, and the configuration that runs it.
func platformImage(ctx context.Context, o Options, p v1.Platform, common []entry, tmp string) (v1.Image, error) {
	base, err := baseImage(ctx, o, p)
	if err != nil {
		return nil, err
	}
	binPath, err := o.Binary.file(ctx, p, tmp)
	if err != nil {
		return nil, err
	}
	bin, err := os.ReadFile(binPath)
	if err != nil {
		return nil, fmt.Errorf("reading the instance binary: %w", err)
	}
	mt, err := layerMediaType(base)
	if err != nil {
		return nil, err
	}
	files, err := layerOf(common, o.Created, mt)
	if err != nil {
		return nil, err
	}
	binary, err := layerOf(binaryEntries(o.Binary.Name, bin), o.Created, mt)
	if err != nil {
		return nil, err
	}
	img, err := mutate.Append(base,
		mutate.Addendum{Layer: files, History: history(o.Created, "the mesh's files")},
		mutate.Addendum{Layer: binary, History: history(o.Created, "the instance binary "+o.Binary.Name)})
	if err != nil {
		return nil, err
	}
	return configure(img, o, p)
}

// binaryEntries are the instance binary, owned by the user that runs it,
// and its links in ToolDir.
func binaryEntries(name string, bin []byte) []entry {
	target := path.Join(BinDir, name)
	es := []entry{{path: target, mode: modeExec, uid: UID, gid: GID, data: bin}}
	for _, t := range Tools {
		es = append(es, entry{path: path.Join(ToolDir, t), link: target, mode: modeLink})
	}
	return es
}

// history says, in the image's configuration, where a layer comes from.
func history(created time.Time, what string) v1.History {
	return v1.History{Created: v1.Time{Time: created}, CreatedBy: "meshc image: " + what}
}

// baseImage is the empty image, or the base's image for p.
func baseImage(ctx context.Context, o Options, p v1.Platform) (v1.Image, error) {
	if o.Base == "" {
		return mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON), nil
	}
	ref, err := name.ParseReference(o.Base)
	if err != nil {
		return nil, fmt.Errorf("--base %q: %w", o.Base, err)
	}
	img, err := remote.Image(ref, remote.WithContext(ctx), remote.WithAuthFromKeychain(o.Keychain), remote.WithPlatform(p))
	if err != nil {
		return nil, fmt.Errorf("pulling the base image %s for %s: %w: check the name, and log in to its registry (docker login) if it is private", o.Base, p, err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("reading the base image %s: %w", o.Base, err)
	}
	if !samePlatform(v1.Platform{OS: cf.OS, Architecture: cf.Architecture}, p) {
		return nil, fmt.Errorf("the base image %s has no %s variant (it is %s/%s): choose a base for every --platform", o.Base, p, cf.OS, cf.Architecture)
	}
	return img, nil
}

// layerMediaType follows the base: Docker layers in a Docker image, OCI
// layers otherwise, as some registries refuse a mix.
func layerMediaType(base v1.Image) (types.MediaType, error) {
	mt, err := base.MediaType()
	if err != nil {
		return "", err
	}
	if mt == types.DockerManifestSchema2 {
		return types.DockerLayer, nil
	}
	return types.OCILayer, nil
}

// configure sets what runs: the binary as the non-root user, in WorkDir,
// with the environment the instance and its functions need. The base's
// command is dropped: it would become the binary's arguments.
func configure(img v1.Image, o Options, p v1.Platform) (v1.Image, error) {
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.Created = v1.Time{Time: o.Created}
	cf.OS, cf.Architecture, cf.Variant = p.OS, p.Architecture, p.Variant
	cf.Config.Entrypoint = []string{path.Join(BinDir, o.Binary.Name)}
	cf.Config.Cmd = nil
	cf.Config.User = strconv.Itoa(UID) + ":" + strconv.Itoa(GID)
	cf.Config.WorkingDir = WorkDir
	cf.Config.Env = environment(cf.Config.Env, o.Base == "", usesPython(o.Plan))
	return mutate.ConfigFile(img, cf)
}

// environment is the base's environment with BinDir first on PATH and
// ToolDir last, the CA certificates named, and the Python helper's folder first on
// PYTHONPATH when a function is Python; HOME on the empty base.
func environment(base []string, emptyBase, python bool) []string {
	set := map[string]string{"SSL_CERT_FILE": CACerts, "PATH": defaultPath}
	old := map[string]string{}
	for _, kv := range base {
		k, v, _ := strings.Cut(kv, "=")
		old[k] = v
	}
	if p, ok := old["PATH"]; ok {
		set["PATH"] = p
		if !slices.Contains(strings.Split(p, ":"), BinDir) {
			set["PATH"] = BinDir + ":" + p
		}
	}
	if !slices.Contains(strings.Split(set["PATH"], ":"), ToolDir) {
		set["PATH"] += ":" + ToolDir
	}
	if emptyBase {
		set["HOME"] = HomeDir
	}
	if python {
		set["PYTHONPATH"] = PythonDir
		if p := old["PYTHONPATH"]; p != "" {
			set["PYTHONPATH"] += ":" + p
		}
	}
	env := make([]string, 0, len(base)+len(set))
	for _, kv := range base {
		k, _, _ := strings.Cut(kv, "=")
		if v, ok := set[k]; ok {
			kv = k + "=" + v
			delete(set, k)
		}
		env = append(env, kv)
	}
	for _, k := range slices.Sorted(maps.Keys(set)) {
		env = append(env, k+"="+set[k])
	}
	return env
}

// indexOf is the index of the images, each with its platform, of the
// kind their manifests are.
func indexOf(imgs []v1.Image, ps []v1.Platform) (v1.ImageIndex, error) {
	mt := types.OCIImageIndex
	if m, err := imgs[0].MediaType(); err != nil {
		return nil, err
	} else if m == types.DockerManifestSchema2 {
		mt = types.DockerManifestList
	}
	adds := make([]mutate.IndexAddendum, len(imgs))
	for i, img := range imgs {
		adds[i] = mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &ps[i]}}
	}
	return mutate.AppendManifests(mutate.IndexMediaType(empty.Index, mt), adds...), nil
}
