package image

import (
	"bytes"
	"context"
	"debug/elf"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// Where meshc's standard instance binary comes from.
const (
	meshcModule = "github.com/meshc/meshc"
	// MeshrtPackage is the main package of the standard instance binary.
	MeshrtPackage = meshcModule + "/cmd/meshrt"
	// MeshrtName is its name, which manifests run when told nothing else.
	MeshrtName = "meshrt"
)

// Binary is the instance binary of an image.
type Binary struct {
	// Name is its file name in the image, in BinDir: what Kubernetes and
	// Nomad manifests run (emit --binary NAME; meshrt by default).
	Name string
	// Platform, when set, is the only platform the binary serves: a
	// ready-made binary is built for one.
	Platform *v1.Platform
	// Standard is meshrt, which has no go("NAME") functions of a user.
	Standard bool
	// file returns the binary's path for p, building it in dir if need be.
	file func(ctx context.Context, p v1.Platform, dir string) (string, error)
}

// Serves tells whether the binary runs on p: any binary that is built for
// each platform does, a ready-made one on its own only.
func (b Binary) Serves(p v1.Platform) bool {
	return b.Platform == nil || samePlatform(*b.Platform, p)
}

// Prebuilt is a ready-made instance binary; its ELF header says which
// platform it serves.
func Prebuilt(path string) (Binary, error) {
	p, err := ELFPlatform(path)
	if err != nil {
		return Binary{}, err
	}
	return Binary{
		Name:     filepath.Base(path),
		Platform: &p,
		file: func(_ context.Context, want v1.Platform, _ string) (string, error) {
			if !samePlatform(p, want) {
				return "", fmt.Errorf("%w: %s is for %s, not %s", ErrBinaryPlatform, path, p, want)
			}
			return path, nil
		},
	}, nil
}

// ELFPlatform reads the platform a Linux executable is built for from its
// ELF header. The variant (arm/v7) is not in it and stays empty.
func ELFPlatform(path string) (v1.Platform, error) {
	f, err := elf.Open(path)
	if err != nil {
		return v1.Platform{}, fmt.Errorf("%w: %s: %w: build it with GOOS=linux", ErrNotLinuxBinary, path, err)
	}
	defer f.Close()
	if f.Type != elf.ET_EXEC && f.Type != elf.ET_DYN {
		return v1.Platform{}, fmt.Errorf("%w: %s is an ELF %s, not an executable", ErrNotLinuxBinary, path, f.Type)
	}
	if f.OSABI != elf.ELFOSABI_NONE && f.OSABI != elf.ELFOSABI_LINUX {
		return v1.Platform{}, fmt.Errorf("%w: %s is for %s: build it with GOOS=linux", ErrNotLinuxBinary, path, f.OSABI)
	}
	arch := elfArch(f)
	if arch == "" {
		return v1.Platform{}, fmt.Errorf("%w: %s is for the machine %s (%s), which images are not built for", ErrPlatform, path, f.Machine, f.Class)
	}
	return v1.Platform{OS: "linux", Architecture: arch}, nil
}

// elfArch names an ELF file's machine as GOARCH does, or "".
func elfArch(f *elf.File) string {
	is64, little := f.Class == elf.ELFCLASS64, f.ByteOrder == binary.LittleEndian
	switch {
	case f.Machine == elf.EM_X86_64 && is64:
		return "amd64"
	case f.Machine == elf.EM_AARCH64 && is64:
		return "arm64"
	case f.Machine == elf.EM_386 && !is64:
		return "386"
	case f.Machine == elf.EM_ARM && !is64:
		return "arm"
	case f.Machine == elf.EM_PPC64 && is64 && little:
		return "ppc64le"
	case f.Machine == elf.EM_S390 && is64:
		return "s390x"
	case f.Machine == elf.EM_RISCV && is64:
		return "riscv64"
	case f.Machine == elf.EM_LOONGARCH && is64:
		return "loong64"
	}
	return ""
}

// GoBuild builds the Go main package pkg with go build, run in dir (which
// picks the module), once per platform, reproducibly: no cgo, -trimpath,
// no build id, no VCS stamp, no symbol table. It says on log what it
// builds: cross-compiling takes a while.
func GoBuild(dir, pkg, name string, log io.Writer) Binary {
	return Binary{Name: name, file: func(ctx context.Context, p v1.Platform, out string) (string, error) {
		path := filepath.Join(out, name+"-"+strings.ReplaceAll(p.String(), "/", "-"))
		fmt.Fprintf(log, "building %s for %s\n", name, p)
		cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags=-s -w -buildid=", "-o", path, pkg)
		cmd.Dir = dir
		// Later entries win: these override the caller's environment.
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOFLAGS="+strings.TrimSpace(os.Getenv("GOFLAGS")+" -buildvcs=false"))
		cmd.Env = append(cmd.Env, goEnv(p)...)
		if msg, err := cmd.CombinedOutput(); err != nil {
			return "", fmt.Errorf("go build %s for %s in %s: %w\n%s", pkg, p, dir, err, bytes.TrimSpace(msg))
		}
		return path, nil
	}}
}

// Meshrt is the standard instance binary, built from meshc's source: that
// of the module in dir when it is meshc or requires it (a checkout of
// meshc, or a project pinning its version), else the version this program
// was built from, fetched into Go's module cache.
func Meshrt(ctx context.Context, dir string, log io.Writer) (Binary, error) {
	src, pkg, err := meshrtSource(ctx, dir)
	if err != nil {
		return Binary{}, err
	}
	b := GoBuild(src, pkg, MeshrtName, log)
	b.Standard = true
	return b, nil
}

func meshrtSource(ctx context.Context, dir string) (src, pkg string, err error) {
	list := exec.CommandContext(ctx, "go", "list", "-f", "{{.Dir}}", MeshrtPackage)
	list.Dir = dir
	if err := list.Run(); err == nil {
		return dir, MeshrtPackage, nil
	}
	version := meshcVersion()
	if version == "" || version == "(devel)" || strings.HasSuffix(version, "+dirty") {
		return "", "", fmt.Errorf("finding meshc's source to build %s: %s is not in a Go module that has it, and this meshc (version %q) is not a published version: run meshc image in a checkout of meshc, or give the instance binary with --binary or --main", MeshrtName, dir, version)
	}
	var mod struct{ Dir, Error string }
	out, err := exec.CommandContext(ctx, "go", "mod", "download", "-json", meshcModule+"@"+version).Output()
	if jerr := json.Unmarshal(out, &mod); err != nil || jerr != nil || mod.Dir == "" {
		return "", "", fmt.Errorf("fetching meshc %s to build %s: %v %s: check the network and the Go proxy (GOPROXY), or give the instance binary with --binary", version, MeshrtName, err, mod.Error)
	}
	return mod.Dir, "./cmd/meshrt", nil
}

// meshcVersion is the version of meshc this program was built with.
func meshcVersion() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return ""
	}
	if bi.Main.Path == meshcModule {
		return bi.Main.Version
	}
	for _, m := range bi.Deps {
		if m.Path == meshcModule {
			return m.Version
		}
	}
	return ""
}
