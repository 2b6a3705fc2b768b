#!/bin/sh
# Installs what is missing, builds in build/, and runs the main job:
# a one-shot diagnosis of this host's sockets.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
scripts/deps.sh
[ -x configure ] || autoreconf -fi
mkdir -p build
cd build
[ -f Makefile ] || ../configure
make -j"$(nproc)"
rc=0
./proxyctl diagnose "$@" || rc=$?
# diagnose exits 1 when it has findings: that is a result, not a failure.
[ "$rc" -le 1 ]
