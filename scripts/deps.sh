#!/bin/sh
# Installs the build, runtime and test dependencies that are missing (Debian 12).
# Usage: scripts/deps.sh   (as root)
set -eu
pkgs="build-essential autoconf automake pkg-config
libmnl-dev libnl-3-dev libnl-route-3-dev libncurses-dev libsqlite3-dev libcmocka-dev
iproute2 iptables procps psmisc socat curl tmux wrk haproxy nginx-light python3
prometheus"
missing=""
for p in $pkgs; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ]; then
	echo "deps: missing packages:$missing (run as root, or: apt-get install$missing)" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# Daemons installed here must not start by themselves: the tests start their own.
printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
chmod 755 /usr/sbin/policy-rc.d
trap 'rm -f /usr/sbin/policy-rc.d' EXIT
apt-get install -y -qq --no-install-recommends $missing
