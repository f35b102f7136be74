package image

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// DefaultPlatforms are the platforms images are built for when none is
// asked for: most Kubernetes nodes are one of them.
const DefaultPlatforms = "linux/amd64,linux/arm64"

// goArchs are the architectures an image may be for: those Go builds
// meshrt for on Linux, named as both GOARCH and OCI platforms name them.
var goArchs = map[string]bool{
	"386": true, "amd64": true, "arm": true, "arm64": true, "loong64": true,
	"ppc64le": true, "riscv64": true, "s390x": true,
}

// ParsePlatforms reads a comma-separated list of OS/ARCH[/VARIANT], such
// as linux/amd64,linux/arm/v7, dropping repeats and keeping the order,
// which is the order of the index.
func ParsePlatforms(s string) ([]v1.Platform, error) {
	var ps []v1.Platform
	seen := map[string]bool{}
	for _, field := range strings.Split(s, ",") {
		field = strings.TrimSpace(field)
		if field == "" {
			continue
		}
		p, err := parsePlatform(field)
		if err != nil {
			return nil, err
		}
		if !seen[p.String()] {
			seen[p.String()] = true
			ps = append(ps, p)
		}
	}
	if len(ps) == 0 {
		return nil, fmt.Errorf("%w: no platform in %q: write OS/ARCH, such as %s", ErrPlatform, s, DefaultPlatforms)
	}
	return ps, nil
}

func parsePlatform(s string) (v1.Platform, error) {
	p, err := v1.ParsePlatform(s)
	if err != nil || p.OSVersion != "" {
		return v1.Platform{}, fmt.Errorf("%w: %q: write OS/ARCH or OS/ARCH/VARIANT, such as linux/arm64", ErrPlatform, s)
	}
	if p.OS != "linux" {
		return v1.Platform{}, fmt.Errorf("%w: %q: images are built for linux only, such as linux/amd64", ErrPlatform, s)
	}
	if !goArchs[p.Architecture] {
		return v1.Platform{}, fmt.Errorf("%w: %q: the architecture is one of %s", ErrPlatform, s,
			strings.Join(slices.Sorted(maps.Keys(goArchs)), ", "))
	}
	return *p, nil
}

// goEnv is the environment that has go build build for p: GOARM and
// GOAMD64 come from the variant (linux/arm/v6, linux/amd64/v3).
func goEnv(p v1.Platform) []string {
	env := []string{"GOOS=" + p.OS, "GOARCH=" + p.Architecture}
	switch {
	case p.Architecture == "arm" && p.Variant != "":
		env = append(env, "GOARM="+strings.TrimPrefix(p.Variant, "v"))
	case p.Architecture == "amd64" && p.Variant != "":
		env = append(env, "GOAMD64="+p.Variant)
	}
	return env
}

// samePlatform tells whether a binary built for have runs on want. The
// variant is left out: an ELF header does not tell it.
func samePlatform(have, want v1.Platform) bool {
	return have.OS == want.OS && have.Architecture == want.Architecture
}
