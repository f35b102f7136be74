#!/usr/bin/env bash
# Builds the StreamNative Function Mesh operator ("manager") from its source
# and prints the paths the operator e2e tests read, one "NAME=PATH" a line:
# MESHC_FM_OPERATOR (the binary) and MESHC_FM_CRDS (its CRDs, which must be
# installed before it starts). The binary is cached by the source's commit
# under ${MESHC_CACHE:-$HOME/.cache/meshc}/fm-operator, so only the first run
# is slow (measured: 4 min of CPU, 6 min on 2 cores with the module
# downloads; a warm run prints the paths at once).
#
# github.com/streamnative/function-mesh is not served by the Go module proxy
# here, so the source comes from a directory: MESHC_FM_OPERATOR_SRC, else
# ../shared/function-mesh-operator/src beside the repository, else
# /work/shared/function-mesh-operator/src. Every module it needs is on the
# proxy. See SOURCE.md next to that src/ for where it came from.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"

find_source() {
	local d
	for d in "${MESHC_FM_OPERATOR_SRC:-}" "$root/../shared/function-mesh-operator/src" /work/shared/function-mesh-operator/src; do
		if [ -n "$d" ] && [ -f "$d/main.go" ] && [ -f "$d/go.mod" ]; then
			(cd "$d" && pwd)
			return 0
		fi
	done
	return 1
}

if [ -n "${MESHC_FM_OPERATOR_SRC:-}" ] && [ ! -f "$MESHC_FM_OPERATOR_SRC/main.go" ]; then
	echo "fmoperator.sh: MESHC_FM_OPERATOR_SRC=$MESHC_FM_OPERATOR_SRC has no main.go; trying the shared copies" >&2
fi
if ! src="$(find_source)"; then
	echo "fmoperator.sh: no Function Mesh operator source found: set MESHC_FM_OPERATOR_SRC to a checkout of" >&2
	echo "  github.com/streamnative/function-mesh (tag v0.27.2) whose root holds main.go and go.mod;" >&2
	echo "  tried ${MESHC_FM_OPERATOR_SRC:-(MESHC_FM_OPERATOR_SRC unset)}, $root/../shared/function-mesh-operator/src" >&2
	echo "  and /work/shared/function-mesh-operator/src" >&2
	exit 1
fi
crds="$src/config/crd/bases"
if [ ! -d "$crds" ]; then
	echo "fmoperator.sh: $src has no config/crd/bases: the tests need the operator's CRDs; is this the repository root?" >&2
	exit 1
fi

# The cache key is the upstream commit recorded in SOURCE.md; a source tree
# without one is keyed by a hash of its files, so an edited tree rebuilds.
version_of() {
	local commit
	commit="$(sed -n 's/.*commit \([0-9a-f]\{40\}\).*/\1/p' "$src/../SOURCE.md" 2>/dev/null | head -n 1)"
	if [ -n "$commit" ]; then
		echo "$commit"
		return
	fi
	(cd "$src" && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum | cut -c1-16)
}

cache="${MESHC_CACHE:-$HOME/.cache/meshc}/fm-operator/$(version_of)"
bin="$cache/manager"

print() {
	echo "MESHC_FM_OPERATOR=$bin"
	echo "MESHC_FM_CRDS=$crds"
}

if [ -x "$bin" ]; then
	print
	exit 0
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
# The build writes go.mod/go.sum (-mod=mod), so it works on a copy: the
# shared source may be read-only and is used by others.
cp -R "$src" "$work/src"
chmod -R u+w "$work/src"
cd "$work/src"
export GOWORK=off GOFLAGS="-mod=mod" GOTOOLCHAIN=local CGO_ENABLED=0

echo "fmoperator.sh: building the Function Mesh operator from $src in $work" >&2
mkdir -p "$work/out"
start=$SECONDS
go build -trimpath -ldflags "-s -w" -o "$work/out/manager" .
echo "fmoperator.sh: go build took $((SECONDS - start)) s" >&2

# Publish at once so a half-finished build is never taken for a cache hit.
mkdir -p "$(dirname "$cache")"
rm -rf "$cache.tmp.$$"
mv "$work/out" "$cache.tmp.$$"
rm -rf "$cache"
mv "$cache.tmp.$$" "$cache"
print
