#!/usr/bin/env bash
# Builds kube-apiserver and etcd from the Go module proxy and prints their
# paths, one a line: "MESHC_KUBE_APISERVER=PATH" and "MESHC_ETCD=PATH",
# the environment variables the e2e tests read. The binaries are
# cached by version under ${MESHC_CACHE:-$HOME/.cache/meshc}/kube, so only the
# first run is slow (about 10 minutes on 2 cores).
#
# k8s.io/kubernetes cannot be installed directly: its go.mod replaces every
# k8s.io staging module with a local directory. A small wrapper module
# requires it and replaces each of those with its published version.
set -euo pipefail

KUBE_VERSION="${KUBE_VERSION:-1.35.4}"
ETCD_VERSION="${ETCD_VERSION:-3.6.5}"
staging_version="v0.${KUBE_VERSION#1.}"

cache="${MESHC_CACHE:-$HOME/.cache/meshc}/kube/kube-v${KUBE_VERSION}-etcd-v${ETCD_VERSION}"
apiserver="$cache/kube-apiserver"
etcd="$cache/etcd"

print() {
	echo "MESHC_KUBE_APISERVER=$apiserver"
	echo "MESHC_ETCD=$etcd"
}

if [ -x "$apiserver" ] && [ -x "$etcd" ]; then
	print
	exit 0
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$work"
export GOWORK=off GOFLAGS="${GOFLAGS:-} -mod=mod" CGO_ENABLED=0

echo "kube.sh: building kube-apiserver v$KUBE_VERSION and etcd v$ETCD_VERSION in $work" >&2
go mod init meshc.local/kubebin >/dev/null 2>&1

# Replace each staging module named in k8s.io/kubernetes's go.mod.
kube_mod="$(go mod download -json "k8s.io/kubernetes@v$KUBE_VERSION" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",$/\1/p')"
if [ -z "$kube_mod" ] || [ ! -f "$kube_mod" ]; then
	echo "kube.sh: cannot find the go.mod of k8s.io/kubernetes@v$KUBE_VERSION in the module cache" >&2
	exit 1
fi
staging="$(sed -n 's#^[[:space:]]*\(k8s\.io/[^[:space:]]*\) => \./staging/.*#\1#p' "$kube_mod")"
if [ -z "$staging" ]; then
	echo "kube.sh: no staging replacements found in $kube_mod; the wrapper needs updating" >&2
	exit 1
fi
for m in $staging; do
	go mod edit -replace "$m=$m@$staging_version"
done
echo "kube.sh: replaced $(echo "$staging" | wc -l) staging modules with $staging_version" >&2

go get "k8s.io/kubernetes/cmd/kube-apiserver@v$KUBE_VERSION" "go.etcd.io/etcd/server/v3@v$ETCD_VERSION"

version_pkg=k8s.io/component-base/version
minor="${KUBE_VERSION#1.}"
minor="${minor%%.*}"
ldflags="-s -w -X $version_pkg.gitVersion=v$KUBE_VERSION -X $version_pkg.gitMajor=1 -X $version_pkg.gitMinor=$minor"
mkdir -p out
go build -trimpath -ldflags "$ldflags" -o out/kube-apiserver k8s.io/kubernetes/cmd/kube-apiserver
go build -trimpath -ldflags "-s -w" -o out/etcd go.etcd.io/etcd/server/v3

# Publish both at once so a half-finished build is never taken for a cache hit.
mkdir -p "$(dirname "$cache")"
rm -rf "$cache.tmp.$$"
mv out "$cache.tmp.$$"
rm -rf "$cache"
mv "$cache.tmp.$$" "$cache"
print
