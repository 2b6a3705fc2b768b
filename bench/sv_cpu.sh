#!/bin/sh
# bench/sv_cpu.sh [LEVEL...]: proxysv's tick duration and CPU share at its
# default 1 s tick beside `ss -tan` over the same sockets. Not a test.
#
# For each LEVEL (established loopback connections; default 10000 then
# 100000) it tops the connections up with connmany helpers as
# bench/diagnose.sh does (each owns at most $PER connections and listens on
# its own 127.0.78.x address), then lets one proxysv, started once with a
# minimal configuration (one frontend on 127.0.0.1:$FPORT, one backend), tick
# for $SECS seconds. Every second it samples `proxyctl status --json`
# ("tick_ms": the last tick, probes + detectors + store) and reads proxysv's
# utime+stime from /proc/PID/stat at both ends of the window. It prints the
# median and maximum tick, proxysv's CPU share of one core over the window
# (CPU time / wall time; includes the control requests of the sampling, a
# few ms each) and per tick, and the median of $ROUNDS `ss -tan` runs (wall
# and CPU) with the ratios tick/ss-tan (wall, and CPU per tick: on a loaded
# machine the CPU figures are the steadier ones).
#
# Targets: a tick under 100 ms at 100k sockets; under 2% of one core at 10k.
# A level given twice is measured twice with the same proxysv (e.g.
# `sv_cpu.sh 10000 10000 100000 100000`). The probes' part of a tick, apart
# from the rest, and against a full /proc scan: `bench/sv_tick -p` beside
# the same helpers. Sockets of other processes in the namespace (a load
# test's TIME_WAIT) lengthen the sock_diag dump: ss -tan's count says.
#
# Environment: PROXYSV, PROXYD, PROXYCTL, CONNMANY (binaries; a build
# without sanitizers gives the figures that matter), SECS (20), ROUNDS (7),
# PER (9000), FPORT (21998), top_builddir, BENCH_SV_LEVELS.
# Needs root. Everything it starts is stopped on exit.
set -u

: "${top_builddir:=$(cd "$(dirname "$0")/.." && pwd)}"
PROXYSV=${PROXYSV:-$top_builddir/supervisor/proxysv}
PROXYD=${PROXYD:-$top_builddir/proxyd/proxyd}
PROXYCTL=${PROXYCTL:-$top_builddir/proxyctl}
CONNMANY=${CONNMANY:-$top_builddir/bench/connmany}
SECS=${SECS:-20}
ROUNDS=${ROUNDS:-7}
PER=${PER:-9000}
FPORT=${FPORT:-21998}
PORT=21997
LEVELS=${*:-${BENCH_SV_LEVELS:-10000 100000}}

helpers=""
nhelpers=0
tmp=""
sv=""

cleanup() {
	if [ -n "$sv" ]; then
		# Two signals: a fast stop; its generations go with it.
		kill -TERM "$sv" 2>/dev/null
		sleep 0.1
		kill -TERM "$sv" 2>/dev/null
		i=0
		while kill -0 "$sv" 2>/dev/null && [ $i -lt 50 ]; do
			sleep 0.1
			i=$((i + 1))
		done
		kill -KILL "$sv" 2>/dev/null
		wait "$sv" 2>/dev/null
	fi
	for p in $helpers; do
		kill -TERM "$p" 2>/dev/null
	done
	for p in $helpers; do
		wait "$p" 2>/dev/null
	done
	[ -n "$tmp" ] && [ -z "${KEEP:-}" ] && rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

die() {
	echo "bench/sv_cpu: $*" >&2
	[ -n "$tmp" ] && [ -f "$tmp/sv.log" ] && tail -n 20 "$tmp/sv.log" >&2
	exit 1
}

[ "$(id -u)" = 0 ] || die "run as root (proxysv's probes must see every process)"
for b in "$PROXYSV" "$PROXYD" "$PROXYCTL" "$CONNMANY"; do
	[ -x "$b" ] || die "$b not built"
done
command -v ss >/dev/null 2>&1 || die "ss not installed"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/bench-sv.XXXXXX") || die "mktemp"

hz=$(getconf CLK_TCK 2>/dev/null || echo 100)

now_us() {
	t=$(date +%s%N)
	echo $((t / 1000))
}

# cpu_ticks PID: utime+stime of PID in clock ticks; sys_ticks PID: stime.
cpu_ticks() {
	awk '{ print $14 + $15 }' "/proc/$1/stat"
}
sys_ticks() {
	awk '{ print $15 }' "/proc/$1/stat"
}

# cpu_ms_self: user+system CPU time of this shell's waited-for children.
cpu_ms_self() {
	awk -v hz="$hz" '{ printf "%d\n", ($16 + $17) * 1000 / hz }' /proc/$$/stat
}

# median FILE / max FILE: of the numbers in FILE (one a line).
median() {
	n=$(wc -l <"$1")
	sort -g "$1" | sed -n "$(((n + 1) / 2))p"
}
max() {
	sort -g "$1" | tail -n 1
}

# ratio A B: A/B with two decimals (decimal inputs).
ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'
}

. "$(dirname "$0")/connmany-lib.sh"

status() {
	"$PROXYCTL" -S "$tmp/run/control.sock" status --json 2>/dev/null
}

# A minimal configuration: one frontend, one backend (nothing listens on the
# backend's port; no client connects through the proxy).
{
	printf 'global\n    maxconn 2000\n'
	printf 'defaults\n    mode tcp\n    timeout connect 2s\n'
	printf '    timeout client 30s\n    timeout server 30s\n'
	printf 'frontend fe\n    bind 127.0.0.1:%s\n    default_backend be\n' "$FPORT"
	printf 'backend be\n    server s1 127.0.0.1:%s\n' $((FPORT - 2))
	printf 'supervisor\n    runtime-dir %s/run\n    proxyd %s\n' "$tmp" "$PROXYD"
} >"$tmp/sv.cfg"

echo "bench/sv_cpu: proxysv at its default 1 s tick, ${SECS} s per level"
echo "proxysv: $PROXYSV"
have_n=0
for level in $LEVELS; do
	while [ $have_n -lt "$level" ]; do
		n=$((level - have_n))
		[ $n -gt "$PER" ] && n=$PER
		add_helper $n 0.78 3600
		have_n=$((have_n + n))
	done
	if [ -z "$sv" ]; then
		"$PROXYSV" -f "$tmp/sv.cfg" --db "$tmp/run/incidents.db" >"$tmp/sv.log" 2>&1 &
		sv=$!
		i=0
		until status | grep -q '"active_gen":[0-9]'; do
			i=$((i + 1))
			[ $i -lt 100 ] && kill -0 "$sv" 2>/dev/null || die "proxysv not active after 10 s"
			sleep 0.1
		done
	fi
	# Let a few ticks pass at this level before measuring.
	sleep 3
	: >"$tmp/tick"
	t0=$(now_us)
	c0=$(cpu_ticks "$sv") || die "proxysv gone"
	y0=$(sys_ticks "$sv")
	k0=$(status | sed -n 's/.*"tick":\([0-9]*\).*/\1/p')
	s=0
	last=""
	while [ $s -lt "$SECS" ]; do
		s=$((s + 1))
		sleep 1
		line=$(status) || die "status failed"
		tk=$(printf '%s' "$line" | sed -n 's/.*"tick":\([0-9]*\).*/\1/p')
		ms=$(printf '%s' "$line" | sed -n 's/.*"tick_ms":\([0-9.eE+-]*\).*/\1/p')
		# One sample per tick: skip a status that saw the same tick again.
		[ -n "$ms" ] && [ "$tk" != "$last" ] && echo "$ms" >>"$tmp/tick"
		last=$tk
	done
	c1=$(cpu_ticks "$sv") || die "proxysv gone"
	y1=$(sys_ticks "$sv")
	t1=$(now_us)
	k1=$last
	[ -s "$tmp/tick" ] || die "no tick_ms in status"

	: >"$tmp/tan"
	: >"$tmp/tan.cpu"
	r=0
	while [ $r -lt "$ROUNDS" ]; do
		r=$((r + 1))
		a0=$(cpu_ms_self)
		u0=$(now_us)
		ss -tan >"$tmp/ss.out" 2>&1 || die "ss -tan failed"
		u1=$(now_us)
		a1=$(cpu_ms_self)
		echo "$(((u1 - u0) / 1000)).$(printf '%03d' $(((u1 - u0) % 1000)))" >>"$tmp/tan"
		echo $((a1 - a0)) >>"$tmp/tan.cpu"
	done
	sslines=$(($(wc -l <"$tmp/ss.out") - 1))
	tmed=$(median "$tmp/tick")
	tmax=$(max "$tmp/tick")
	amed=$(median "$tmp/tan")
	acpu=$(median "$tmp/tan.cpu")
	cpu_ms=$(((c1 - c0) * 1000 / hz))
	wall_ms=$(((t1 - t0) / 1000))
	share=$(awk -v c="$cpu_ms" -v w="$wall_ms" 'BEGIN { printf "%.2f", 100 * c / w }')
	ticks=$((${k1:-0} - ${k0:-0}))
	per=$(awk -v c="$cpu_ms" -v n="$ticks" 'BEGIN { if (n > 0) printf "%.1f", c / n; else print "-" }')
	echo
	echo "level $level connections: ss -tan $sslines sockets (helpers: $nhelpers)," \
	     "$(wc -l <"$tmp/tick") tick samples over $wall_ms ms"
	echo "  load average: $(cut -d' ' -f1-3 /proc/loadavg)"
	printf '  %-24s median %9s ms   max %9s ms\n' "proxysv tick" "$tmed" "$tmax"
	printf '  %-24s median %9s ms   cpu %6s ms\n' "ss -tan (wall)" "$amed" "$acpu"
	echo "  ratio tick/ss-tan: median $(ratio "$tmed" "$amed")   max $(ratio "$tmax" "$amed")"
	echo "  proxysv cpu per tick: $per ms over $ticks ticks;" \
	     "ratio to ss -tan cpu $(ratio "$per" "$acpu")"
	echo "  proxysv cpu: $cpu_ms ms (system $(((y1 - y0) * 1000 / hz)) ms) over $wall_ms ms" \
	     "= ${share}% of one core" \
	     "(ss -tan once a second would be $(awk -v c="$acpu" 'BEGIN { printf "%.2f", c / 10 }')%)"
	case $level in
	100000) awk -v t="$tmax" 'BEGIN { exit !(t < 100) }' &&
		echo "  target tick < 100 ms at 100k: met (max)" ||
		echo "  target tick < 100 ms at 100k: NOT met (max $tmax ms)" ;;
	10000) awk -v s="$share" 'BEGIN { exit !(s < 2) }' &&
		echo "  target cpu < 2% at 10k: met" ||
		echo "  target cpu < 2% at 10k: NOT met ($share%)" ;;
	esac
done
