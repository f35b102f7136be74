#!/usr/bin/env bash
# Builds the Nomad agent from the Go module proxy and prints its path. The
# binary is cached by version under ${MESHC_CACHE:-$HOME/.cache/meshc}/nomad,
# so only the first run is slow (about 14 minutes on 2 cores, 30 s warm).
#
# github.com/hashicorp/nomad cannot be installed directly: its go.mod has
# replace directives (one of them to its own ./api folder). A small wrapper
# module requires it, copies those replacements (./api becomes the published
# api module of the same commit) and starts from Nomad's own go.sum.
set -euo pipefail

NOMAD_VERSION="${NOMAD_VERSION:-1.10.5}"
# The api module has no tags: this pseudo-version is the commit of the tag.
NOMAD_API_VERSION="${NOMAD_API_VERSION:-v0.0.0-20250909143645-a3b86c697f38}"

cache="${MESHC_CACHE:-$HOME/.cache/meshc}/nomad/v${NOMAD_VERSION}"
bin="$cache/nomad"

if [ -x "$bin" ]; then
	echo "$bin"
	exit 0
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$work"
export GOWORK=off GOFLAGS="-mod=mod -buildvcs=false" CGO_ENABLED="${CGO_ENABLED:-1}"

echo "nomad.sh: building Nomad v$NOMAD_VERSION in $work" >&2
json="$(go mod download -json "github.com/hashicorp/nomad@v$NOMAD_VERSION")"
dir="$(echo "$json" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
if [ -z "$dir" ] || [ ! -f "$dir/go.mod" ]; then
	echo "nomad.sh: cannot find github.com/hashicorp/nomad@v$NOMAD_VERSION in the module cache:" >&2
	echo "$json" >&2
	exit 1
fi

go mod init meshc.local/nomadbin >/dev/null 2>&1
go_version="$(sed -n 's/^go \([0-9.]*\)$/\1/p' "$dir/go.mod")"
go mod edit -go="$go_version"
cp "$dir/go.sum" go.sum
chmod u+w go.sum

# Copy every replacement; the local ./api one becomes the published api
# module of the same commit. go mod edit -json prints one field a line.
go mod edit -json "$dir/go.mod" |
	awk '/"Replace": \[/ { on = 1 } on && /"Old": \{/ { side = "old" } on && /"New": \{/ { side = "new" }
		on && /"Path":/ { gsub(/[",]/, "", $2); path[side] = $2 }
		on && /"Version":/ { gsub(/[",]/, "", $2); ver[side] = $2 }
		on && side == "new" && /^\t\t}/ { print path["old"], path["new"], ver["new"]; delete path; delete ver; side = "" }
		on && /^\t\]/ { on = 0 }' |
	while read -r old new ver; do
		case "$new" in
		./* | ../*) go mod edit -replace "$old=$old@$NOMAD_API_VERSION" ;;
		*) go mod edit -replace "$old=$new${ver:+@$ver}" ;;
		esac
	done
if ! go mod edit -json | grep -q '"Replace"'; then
	echo "nomad.sh: found no replace directives in $dir/go.mod; the wrapper needs updating" >&2
	exit 1
fi
go mod edit -require "github.com/hashicorp/nomad@v$NOMAD_VERSION"

mkdir -p out
go build -trimpath -tags codegen_generated,hashicorpmetrics -ldflags "-s -w" -o out/nomad github.com/hashicorp/nomad
out/nomad version >&2

# Publish at once so a half-finished build is never taken for a cache hit.
mkdir -p "$(dirname "$cache")"
rm -rf "$cache.tmp.$$"
mv out "$cache.tmp.$$"
rm -rf "$cache"
mv "$cache.tmp.$$" "$cache"
echo "$bin"
