#!/bin/sh
# Keep-alive HTTP requests lost to reloads: proxysv + proxyd against HAProxy
# 2.6 master-worker (-W, SIGUSR2), same origin (httpback), same load:
# THREADS keep-alive clients with 0-20 ms think time
# (tests/integration/http_kaclient.py), RELOADS reloads 0.2 s apart.
# Prints ok/failed requests and connections for each, and failures per
# reload.
#
# Usage: http-reload.sh [RELOADS [THREADS]]      (root; ports 24910-24919)
# Environment: top_builddir, top_srcdir, HAPROXY. Not part of `make check`:
# `make bench-http-reload`.
set -u
: "${top_builddir:?top_builddir must be set}"
: "${top_srcdir:?top_srcdir must be set}"
RELOADS=${1:-30}
THREADS=${2:-32}
HAPROXY=${HAPROXY:-haproxy}
PROXYSV="$top_builddir/supervisor/proxysv"
PROXYD="$top_builddir/proxyd/proxyd"
HTTPBACK="$top_builddir/tests/integration/httpback"
KACLIENT="$top_srcdir/tests/integration/http_kaclient.py"
BP=24910 PSV=24911 PHA=24912

for b in "$PROXYSV" "$PROXYD" "$HTTPBACK"; do
	[ -x "$b" ] || { echo "http-reload.sh: $b not built"; exit 1; }
done
for b in "$HAPROXY" python3; do
	command -v "$b" >/dev/null || { echo "http-reload.sh: $b is needed"; exit 77; }
done
T=$(mktemp -d "${TMPDIR:-/tmp}/bench-http-reload.XXXXXX")
PIDS=""
cleanup() {
	for p in $PIDS; do kill "$p" 2>/dev/null; done
	sleep 0.5
	for p in $PIDS; do kill -9 "$p" 2>/dev/null; done
	wait 2>/dev/null
	[ -n "${KEEP:-}" ] || rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

"$HTTPBACK" -p $BP -R "$T/hb.ready" 2>/dev/null &
PIDS="$PIDS $!"
i=0
while [ ! -f "$T/hb.ready" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done

common() {
	printf 'global\n    maxconn 4000\n'
	printf 'defaults\n    mode http\n    timeout connect 2s\n    timeout client 30s\n'
	printf '    timeout server 30s\n    timeout http-request 5s\n    timeout http-keep-alive 30s\n'
	printf 'frontend fe\n    bind 127.0.0.1:%s\n    default_backend be\n' "$1"
	printf 'backend be\n    server s1 127.0.0.1:%s\n' $BP
}
common $PSV >"$T/sv.cfg"
printf 'supervisor\n    runtime-dir %s/run\n    proxyd %s\n    drain-timeout 30s\n' "$T" "$PROXYD" \
	>>"$T/sv.cfg"
printf '    max-generations 0\n' >>"$T/sv.cfg"
common $PHA | sed 's/^    maxconn 4000$/&\n    nbthread 1/' >"$T/ha.cfg"

# load PORT PID SIGNAL NAME
load() {
	python3 "$KACLIENT" "$1" "$THREADS" $((RELOADS / 5 + 4)) >"$T/$4.out" &
	lp=$!
	sleep 1
	i=0
	while [ $i -lt "$RELOADS" ]; do
		kill "-$3" "$2"
		sleep 0.2
		i=$((i + 1))
	done
	wait $lp
	f=$(sed -n 's/.*fail=\([0-9]*\).*/\1/p' "$T/$4.out")
	printf '%-22s %s  failed per reload: %s\n' "$4" "$(cat "$T/$4.out")" \
		"$(awk -v f="$f" -v r="$RELOADS" 'BEGIN { printf "%.2f", f / r }')"
}

mkdir -p "$T/run"
"$PROXYSV" -f "$T/sv.cfg" --db "$T/run/incidents.db" >"$T/sv.log" 2>&1 &
SV=$!
PIDS="$PIDS $SV"
"$HAPROXY" -W -db -f "$T/ha.cfg" 2>"$T/ha.log" &
MW=$!
PIDS="$PIDS $MW"
sleep 1.5
echo "http-reload.sh: $RELOADS reloads 0.2 s apart, $THREADS keep-alive clients (0-20 ms think time)"
load $PSV $SV HUP proxysv+proxyd
load $PHA $MW USR2 haproxy-master-worker
