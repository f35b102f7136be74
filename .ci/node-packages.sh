#!/usr/bin/env bash
# Installs the Debian packages a Kubernetes node needs for the e2e tests, if
# any is missing: containerd, runc, the CNI plugins (in /usr/lib/cni) and
# iproute2 (whose `ip` removes the node's bridge). Needs root, as CI has.
# Quiet unless it installs something; `apt-get update` runs only when apt
# does not know a package, or its lists are too old to fetch it.
set -euo pipefail

packages="containerd runc containernetworking-plugins iproute2"

missing=""
for p in $packages; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$'; then
		missing="$missing $p"
	fi
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" != 0 ]; then
	echo "node-packages.sh: missing:$missing; run this script as root, or apt-get install them" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
install_missing() {
	# shellcheck disable=SC2086 # the package list is meant to split
	apt-get install -y -qq --no-install-recommends $missing >/dev/null
}
echo "node-packages.sh: installing$missing" >&2
# shellcheck disable=SC2086
if ! apt-cache show $missing >/dev/null 2>&1; then
	apt-get update -qq
fi
if ! install_missing; then
	apt-get update -qq
	install_missing
fi
