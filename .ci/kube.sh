#!/usr/bin/env bash
# Builds a single-node Kubernetes from the Go module proxy and prints the
# paths the e2e tests read, one "NAME=PATH" a line: MESHC_KUBE_APISERVER,
# MESHC_ETCD, MESHC_KUBELET, MESHC_KUBE_CONTROLLER_MANAGER and
# MESHC_KUBE_SCHEDULER. The binaries are cached by version under
# ${MESHC_CACHE:-$HOME/.cache/meshc}/kube, so only the first run is slow
# (about 25 minutes on 2 cores; a warm run prints the paths at once).
#
# k8s.io/kubernetes cannot be installed directly: its go.mod replaces every
# k8s.io staging module with a local directory. A small wrapper module
# requires it and replaces each of those with its published version.
#
# All five come from one `go build`: the kubelet, controller-manager and
# scheduler share most of their packages with the apiserver, and separate
# builds (or parallel ones) compile them again and again; on 2 cores that
# took the kubelet alone 21 minutes.
set -euo pipefail

KUBE_VERSION="${KUBE_VERSION:-1.35.4}"
ETCD_VERSION="${ETCD_VERSION:-3.6.5}"
staging_version="v0.${KUBE_VERSION#1.}"

cache="${MESHC_CACHE:-$HOME/.cache/meshc}/kube/kube-v${KUBE_VERSION}-etcd-v${ETCD_VERSION}"
kube_cmds="kube-apiserver kubelet kube-controller-manager kube-scheduler"

print() {
	echo "MESHC_KUBE_APISERVER=$cache/kube-apiserver"
	echo "MESHC_ETCD=$cache/etcd"
	echo "MESHC_KUBELET=$cache/kubelet"
	echo "MESHC_KUBE_CONTROLLER_MANAGER=$cache/kube-controller-manager"
	echo "MESHC_KUBE_SCHEDULER=$cache/kube-scheduler"
}

cached() {
	local b
	for b in etcd $kube_cmds; do
		[ -x "$cache/$b" ] || return 1
	done
}

if cached; then
	print
	exit 0
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$work"
export GOWORK=off GOFLAGS="${GOFLAGS:-} -mod=mod" CGO_ENABLED=0

echo "kube.sh: building $kube_cmds v$KUBE_VERSION and etcd v$ETCD_VERSION in $work" >&2
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

pkgs=""
for c in $kube_cmds; do
	pkgs="$pkgs k8s.io/kubernetes/cmd/$c"
done
# shellcheck disable=SC2086 # word splitting of the package list is meant
go get $(for p in $pkgs; do echo "$p@v$KUBE_VERSION"; done) "go.etcd.io/etcd/server/v3@v$ETCD_VERSION"

# The version variables are Kubernetes's; etcd does not link that package,
# so setting them for it too is harmless.
version_pkg=k8s.io/component-base/version
minor="${KUBE_VERSION#1.}"
minor="${minor%%.*}"
ldflags="-s -w -X $version_pkg.gitVersion=v$KUBE_VERSION -X $version_pkg.gitMajor=1 -X $version_pkg.gitMinor=$minor"
mkdir -p out
start=$SECONDS
# shellcheck disable=SC2086
go build -trimpath -ldflags "$ldflags" -o out/ $pkgs go.etcd.io/etcd/server/v3
# go build names a binary after the last path element, dropping a /vN suffix.
mv out/server out/etcd
echo "kube.sh: go build took $((SECONDS - start)) s" >&2

# Publish all at once so a half-finished build is never taken for a cache hit.
mkdir -p "$(dirname "$cache")"
rm -rf "$cache.tmp.$$"
mv out "$cache.tmp.$$"
rm -rf "$cache"
mv "$cache.tmp.$$" "$cache"
print
