package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/spf13/cobra"

	"github.com/meshc/meshc/backends/image"
	"github.com/meshc/meshc/compiler"
	"github.com/meshc/meshc/lang"
	"github.com/meshc/meshc/planner"
)

// imageOptions are the flags of meshc image.
type imageOptions struct {
	push, output, layout, tag string
	base, platforms           string
	binary, main              string
}

func newImageCmd() *cobra.Command {
	var (
		pf paramFlags
		o  imageOptions
	)
	cmd := &cobra.Command{
		Use:   "image FILE|DIR [-p NAME=VALUE]... (--push REF | -o FILE.tar | --layout DIR) [--base REF] [--platform LIST] [--binary PATH | --main ./PKG]",
		Short: "Build the OCI image a mesh's instances run from, without Docker",
		Long: `image checks and plans FILE and builds the OCI image its instances run from, as ko
does: no Dockerfile, no Docker daemon. It builds one image per platform (--platform,
default ` + image.DefaultPlatforms + `), and an index over them when there are several.

What the image holds:
  ` + image.BinDir + `/meshrt   the instance binary, the entrypoint, on PATH, as the
      manifests of emit run it. By default meshrt, cross-compiled with go build from
      meshc's source: the module of the current folder when it is meshc or requires it,
      else this meshc's version, fetched. --main ./PKG builds your own instance binary
      (for go("NAME") functions) from that main package, in its module, named after its
      folder; --binary PATH takes a ready-made Linux binary, for the one platform its ELF
      header names.
  ` + image.WorkDir + `   the working folder: the files the exec(...) and wasm(...) functions name,
      at their paths relative to FILE, as meshc run finds them (a folder named as an
      argument is copied whole). A program given by name, exec("python3", ...), or by an
      absolute path is not copied: it must come from the base image (--base).
  ` + image.PythonDir + `/meshc_function.py   the Python helper, on PYTHONPATH,
      when a function is a Python program.
  ` + image.CACerts + `   this machine's CA certificates.
It runs as uid:gid 65532:65532. The base is empty, or --base REF (such as
python:3.13-slim for Python functions), pulled for each platform.

Give exactly one output: --push REF (a registry; credentials as docker and ko find them),
-o FILE.tar (an OCI image layout in a tar, for ctr images import, and docker load of
Docker 25 and later) or --layout DIR (an OCI image layout folder). The tar and the
layout name the image --tag, default meshc.local/MESH:latest. The image's name by digest
goes to standard output, for emit --image.

Builds are reproducible: the same mesh, files, binary and base give the same digest.
Every time in the image is 1970-01-01, or SOURCE_DATE_EPOCH when it is set.`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: meshFiles,
		RunE: func(cmd *cobra.Command, args []string) error {
			return buildImage(cmd, args[0], &pf, o)
		},
	}
	pf.register(cmd)
	f := cmd.Flags()
	f.StringVar(&o.push, "push", "", "push the image to this registry reference, such as ghcr.io/me/wc:v1")
	f.StringVarP(&o.output, "output", "o", "", "write the image to this tar file (an OCI image layout, for ctr images import and docker load)")
	f.StringVar(&o.layout, "layout", "", "write the image into this OCI image layout folder")
	f.StringVar(&o.tag, "tag", "", "the image's name in the tar or layout (default meshc.local/MESH:latest)")
	f.StringVar(&o.base, "base", "", "the base image, pulled for each platform (default: empty); it must have the programs exec(...) runs by name")
	f.StringVar(&o.platforms, "platform", image.DefaultPlatforms, "the platforms to build for, comma-separated OS/ARCH[/VARIANT]")
	f.StringVar(&o.binary, "binary", "", "a ready-made Linux instance binary to run instead of meshrt, for its one platform")
	f.StringVar(&o.main, "main", "", "the folder of your instance binary's main package, built for each platform instead of meshrt")
	return cmd
}

// buildImage checks the flags, then the mesh and its files, before the
// long part: building binaries, pulling the base, writing the image.
func buildImage(cmd *cobra.Command, file string, pf *paramFlags, o imageOptions) error {
	out, err := o.destination()
	if err != nil {
		return err
	}
	bin, platforms, err := o.instanceBinary(cmd)
	if err != nil {
		return err
	}
	created, err := sourceDate()
	if err != nil {
		return err
	}
	dir := meshDir(file)
	m, err := compileMesh(cmd, file, pf, imageChecks(dir, o.base == "", bin))
	if err != nil {
		return err
	}
	p := planner.Plan(m, planner.Options{Source: filepath.ToSlash(file)})
	ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if bin.Standard {
		if bin, err = image.Meshrt(ctx, ".", cmd.ErrOrStderr()); err != nil {
			return &exitError{code: exitFail, err: err}
		}
	}
	img, err := image.Build(ctx, image.Options{Plan: p, Dir: dir, Binary: bin, Platforms: platforms,
		Base: o.base, Created: created, Log: cmd.ErrOrStderr()})
	if err != nil {
		return &exitError{code: exitFail, err: err}
	}
	ref, err := out.write(ctx, img, p.Mesh.Name)
	if err != nil {
		return &exitError{code: exitFail, err: err}
	}
	fmt.Fprintln(cmd.OutOrStdout(), ref)
	fmt.Fprintf(cmd.ErrOrStderr(), "built %s for %s; run it with: meshc emit --backend kubernetes --image %s%s -o DIR %s\n",
		img.Binary, platformList(platforms), ref, binaryFlag(bin), file)
	return nil
}

// imageOutput is where the image goes: exactly one of a registry, a tar
// and a layout folder.
type imageOutput struct {
	push        name.Reference
	tar, layout string
	tag         *name.Tag // in the tar or layout; nil for the default
}

func (o imageOptions) destination() (imageOutput, error) {
	var given []string
	for _, f := range []struct{ flag, value string }{{"--push", o.push}, {"-o", o.output}, {"--layout", o.layout}} {
		if f.value != "" {
			given = append(given, f.flag)
		}
	}
	switch {
	case len(given) == 0:
		return imageOutput{}, usageErrorf("image needs an output: --push REF, -o FILE.tar or --layout DIR")
	case len(given) > 1:
		return imageOutput{}, usageErrorf("image writes one output, not %s: build again for another", strings.Join(given, " and "))
	case o.push != "" && o.tag != "":
		return imageOutput{}, usageErrorf("--tag names the image in -o or --layout; --push REF names it already")
	}
	out := imageOutput{tar: o.output, layout: o.layout}
	if o.push != "" {
		ref, err := name.ParseReference(o.push)
		if err != nil {
			return imageOutput{}, usageErrorf("--push %q: %v", o.push, err)
		}
		out.push = ref
	}
	if o.tag != "" {
		tag, err := name.NewTag(o.tag)
		if err != nil {
			return imageOutput{}, usageErrorf("--tag %q: %v", o.tag, err)
		}
		out.tag = &tag
	}
	return out, nil
}

// instanceBinary is the binary the flags name and the platforms to build
// for. meshrt is only marked here and found once the mesh is checked.
func (o imageOptions) instanceBinary(cmd *cobra.Command) (image.Binary, []v1.Platform, error) {
	platforms, err := image.ParsePlatforms(o.platforms)
	if err != nil {
		return image.Binary{}, nil, usageErrorf("--platform: %v", err)
	}
	switch {
	case o.binary != "" && o.main != "":
		return image.Binary{}, nil, usageErrorf("give the instance binary once: --binary PATH (ready-made) or --main ./PKG (built)")
	case o.main != "":
		abs, err := filepath.Abs(o.main)
		if st, serr := os.Stat(abs); err != nil || serr != nil || !st.IsDir() {
			return image.Binary{}, nil, &exitError{code: exitFail, err: fmt.Errorf("--main %q: not a folder: name the folder of your instance binary's main package, such as ./cmd/mybin", o.main)}
		}
		return image.GoBuild(abs, ".", filepath.Base(abs), cmd.ErrOrStderr()), platforms, nil
	case o.binary == "":
		return image.Binary{Name: image.MeshrtName, Standard: true}, platforms, nil
	}
	bin, err := image.Prebuilt(o.binary)
	if err != nil {
		return image.Binary{}, nil, &exitError{code: exitFail, err: err}
	}
	if !cmd.Flags().Changed("platform") {
		return bin, []v1.Platform{*bin.Platform}, nil
	}
	for _, p := range platforms {
		if !bin.Serves(p) {
			return image.Binary{}, nil, usageErrorf("--platform %s: --binary %s is built for %s only: build it for each platform with --main, or leave --platform out", p, o.binary, bin.Platform)
		}
	}
	return bin, platforms, nil
}

// imageChecks reports at their place in the mesh the files that are
// missing and the go(...) functions meshrt lacks, and, on the empty base,
// warns of programs that the image will not have.
func imageChecks(dir string, emptyBase bool, bin image.Binary) func(*compiler.Mesh) lang.Diagnostics {
	return func(m *compiler.Mesh) lang.Diagnostics {
		p := planner.Plan(m, planner.Options{})
		_, notes, err := image.Files(p, dir)
		ds := meshDiagnostics(m.Places(), errors.Join(err, image.GoFunctions(p, bin)))
		for _, n := range notes {
			if n.FromBase && !emptyBase {
				continue
			}
			at, ok := m.Where(n.Kind, n.Component, "use")
			if !ok {
				at = m.Span
			}
			ds = append(ds, lang.Warningf(at.Start(), at.End(), "%s %s: %s", n.Kind, n.Component, n.Message))
		}
		ds.Sort()
		return ds
	}
}

// sourceDate is SOURCE_DATE_EPOCH, the time reproducible builds stamp,
// or the zero time for the image's default, 1970.
func sourceDate() (time.Time, error) {
	s := os.Getenv("SOURCE_DATE_EPOCH")
	if s == "" {
		return time.Time{}, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return time.Time{}, &exitError{code: exitFail, err: fmt.Errorf("SOURCE_DATE_EPOCH=%q: want whole seconds since 1970, or unset it", s)}
	}
	return time.Unix(n, 0), nil
}

// write writes the image where o says and returns its name by digest.
func (o imageOutput) write(ctx context.Context, img *image.Image, mesh string) (name.Digest, error) {
	if o.push != nil {
		return image.Push(ctx, img, o.push, nil)
	}
	tag, err := o.imageTag(mesh)
	if err != nil {
		return name.Digest{}, err
	}
	if o.layout != "" {
		return image.WriteLayout(o.layout, img, tag)
	}
	return writeImageTar(o.tar, img, tag)
}

func (o imageOutput) imageTag(mesh string) (name.Tag, error) {
	if o.tag != nil {
		return *o.tag, nil
	}
	tag, err := image.DefaultTag(mesh)
	if err != nil {
		return name.Tag{}, fmt.Errorf("naming the image after the mesh %q: %w: give it a name with --tag", mesh, err)
	}
	return tag, nil
}

// writeImageTar writes the tar beside path and renames it into place, so
// that a failed build leaves no half tar.
func writeImageTar(path string, img *image.Image, tag name.Tag) (ref name.Digest, err error) {
	err = replaceFile(path, func(w io.Writer) (err error) {
		ref, err = image.WriteTar(w, img, tag)
		return err
	})
	return ref, err
}

func platformList(ps []v1.Platform) string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = p.String()
	}
	return strings.Join(s, ", ")
}

// binaryFlag is emit's --binary for an instance binary that is not
// meshrt, which emit runs by default.
func binaryFlag(b image.Binary) string {
	if b.Name == image.MeshrtName {
		return ""
	}
	return " --binary " + b.Name
}
