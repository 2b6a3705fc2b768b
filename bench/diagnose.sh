#!/bin/sh
# bench/diagnose.sh [LEVEL...]: how long one `proxyctl diagnose --json
# --interval 0` pass takes beside `ss -tan` and `ss -tanp` over the same
# sockets. Not a test.
#
# For each LEVEL (established loopback connections; default 10000 then
# 100000) it tops the connections up with connmany helpers (each owns at most
# $PER connections, i.e. 2*$PER fds under the 20000 fd limit, and listens on
# its own 127.0.77.x address so that ephemeral ports, unique per destination,
# never run out), then runs the three commands interleaved, $ROUNDS times, and
# prints their medians and the ratios diagnose/ss-tan and diagnose/ss-tanp.
# A diagnose pass takes two snapshots; its --timing line also gives the cost
# of one snapshot (the second, the one with owners and tcp_info), printed as
# "one snapshot". Wall-clock and CPU (user+system) medians are both printed:
# on a shared machine the CPU figure is the steadier one.
#
# Environment: PROXYCTL, CONNMANY (binaries; a build without sanitizers gives
# the figures that matter), ROUNDS (7), PER (9000), top_builddir,
# BENCH_DIAGNOSE_LEVELS (the levels when none is given on the command line),
# PROXYCTL_BASE (another proxyctl, e.g. a build of an earlier version: timed
# in the same interleaved rounds, with the ratio of the two; on a shared
# machine only runs side by side compare).
# Needs root (ss -p and diagnose see every process). Everything it starts is
# stopped on exit.
set -u

: "${top_builddir:=$(cd "$(dirname "$0")/.." && pwd)}"
PROXYCTL=${PROXYCTL:-$top_builddir/proxyctl}
CONNMANY=${CONNMANY:-$top_builddir/bench/connmany}
ROUNDS=${ROUNDS:-7}
PER=${PER:-9000}
PORT=21999
PROXYCTL_BASE=${PROXYCTL_BASE:-}
LEVELS=${*:-${BENCH_DIAGNOSE_LEVELS:-10000 100000}}

helpers=""
nhelpers=0
tmp=""

cleanup() {
	for p in $helpers; do
		kill -TERM "$p" 2>/dev/null
	done
	for p in $helpers; do
		wait "$p" 2>/dev/null
	done
	[ -n "$tmp" ] && rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

die() {
	echo "bench/diagnose: $*" >&2
	exit 1
}

[ "$(id -u)" = 0 ] || die "run as root (ss -p and diagnose must see every process)"
[ -x "$PROXYCTL" ] || die "$PROXYCTL not built"
[ -z "$PROXYCTL_BASE" ] || [ -x "$PROXYCTL_BASE" ] || die "$PROXYCTL_BASE not executable"
[ -x "$CONNMANY" ] || die "$CONNMANY not built"
command -v ss >/dev/null 2>&1 || die "ss not installed"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/bench-diagnose.XXXXXX") || die "mktemp"

now_us() {
	t=$(date +%s%N)
	echo $((t / 1000))
}

# cpu_ms: user+system CPU time of this shell's waited-for children, in ms
# (clock ticks of /proc/PID/stat, 10 ms resolution). On a loaded machine it
# is a steadier figure than the wall-clock time.
hz=$(getconf CLK_TCK 2>/dev/null || echo 100)
cpu_ms() {
	awk -v hz="$hz" '{ printf "%d\n", ($16 + $17) * 1000 / hz }' /proc/$$/stat
}

# median FILE: the median of the numbers in FILE (one a line).
median() {
	n=$(wc -l <"$1")
	sort -n "$1" | sed -n "$(((n + 1) / 2))p"
}

# ms MICROSECONDS: "12.345"
ms() {
	printf '%d.%03d' $(($1 / 1000)) $(($1 % 1000))
}

# ratio A B: A/B with two decimals.
ratio() {
	[ "$2" -gt 0 ] || { echo "-"; return; }
	r=$(($1 * 1000 / $2))
	printf '%d.%02d' $((r / 1000)) $((r % 1000 / 10))
}

. "$(dirname "$0")/connmany-lib.sh"

have=0
echo "bench/diagnose: $ROUNDS interleaved rounds per level; times include process start"
echo "proxyctl: $PROXYCTL"
[ -n "$PROXYCTL_BASE" ] && echo "base:     $PROXYCTL_BASE"
for level in $LEVELS; do
	while [ $have -lt "$level" ]; do
		n=$((level - have))
		[ $n -gt "$PER" ] && n=$PER
		add_helper $n 0.77 1800
		have=$((have + n))
	done
	: >"$tmp/diag"
	: >"$tmp/snap"
	: >"$tmp/base"
	: >"$tmp/base.cpu"
	: >"$tmp/base.snap"
	: >"$tmp/tan"
	: >"$tmp/tanp"
	: >"$tmp/diag.cpu"
	: >"$tmp/tan.cpu"
	: >"$tmp/tanp.cpu"
	r=0
	while [ $r -lt "$ROUNDS" ]; do
		r=$((r + 1))
		c0=$(cpu_ms)
		t0=$(now_us)
		rc=0
		"$PROXYCTL" diagnose --json --interval 0 --timing >"$tmp/out.json" 2>"$tmp/timing" || rc=$?
		t1=$(now_us)
		c1=$(cpu_ms)
		[ $rc -le 1 ] || { cat "$tmp/timing" >&2; die "proxyctl diagnose exited $rc"; }
		echo $((t1 - t0)) >>"$tmp/diag"
		echo $((c1 - c0)) >>"$tmp/diag.cpu"
		# "snapshot2=12.345ms": the second snapshot, with warm buffers.
		s=$(grep -o 'snapshot2=[0-9.]*' "$tmp/timing" | cut -d= -f2)
		[ -n "$s" ] && echo "$s" | awk '{ printf "%d\n", $1 * 1000 }' >>"$tmp/snap"

		if [ -n "$PROXYCTL_BASE" ]; then
			c0=$(cpu_ms)
			t0=$(now_us)
			rc=0
			"$PROXYCTL_BASE" diagnose --json --interval 0 --timing >/dev/null \
				2>"$tmp/timing" || rc=$?
			t1=$(now_us)
			c1=$(cpu_ms)
			[ $rc -le 1 ] || { cat "$tmp/timing" >&2; die "base diagnose exited $rc"; }
			echo $((t1 - t0)) >>"$tmp/base"
			echo $((c1 - c0)) >>"$tmp/base.cpu"
			s=$(grep -o 'snapshot2=[0-9.]*' "$tmp/timing" | cut -d= -f2)
			[ -n "$s" ] && echo "$s" | awk '{ printf "%d\n", $1 * 1000 }' >>"$tmp/base.snap"
		fi

		c0=$(cpu_ms)
		t0=$(now_us)
		ss -tan >"$tmp/ss.out" 2>&1 || die "ss -tan failed"
		t1=$(now_us)
		c1=$(cpu_ms)
		echo $((t1 - t0)) >>"$tmp/tan"
		echo $((c1 - c0)) >>"$tmp/tan.cpu"

		c0=$(cpu_ms)
		t0=$(now_us)
		ss -tanp >/dev/null 2>&1 || die "ss -tanp failed"
		t1=$(now_us)
		c1=$(cpu_ms)
		echo $((t1 - t0)) >>"$tmp/tanp"
		echo $((c1 - c0)) >>"$tmp/tanp.cpu"
	done
	sockets=$(grep -o '"sockets":[0-9]*' "$tmp/out.json" | head -n 1 | cut -d: -f2)
	sslines=$(($(wc -l <"$tmp/ss.out") - 1))
	d=$(median "$tmp/diag")
	a=$(median "$tmp/tan")
	p=$(median "$tmp/tanp")
	echo
	echo "level $level connections: diagnose saw ${sockets:-?} sockets, ss -tan $sslines" \
	     "(helpers: $nhelpers)"
	dc=$(median "$tmp/diag.cpu")
	ac=$(median "$tmp/tan.cpu")
	pc=$(median "$tmp/tanp.cpu")
	echo "  load average: $(cut -d' ' -f1-3 /proc/loadavg)"
	printf '  %-30s median wall %9s ms, cpu %6s ms' "diagnose --json --interval 0" "$(ms "$d")" "$dc"
	if [ -s "$tmp/snap" ]; then
		printf '  (one snapshot: %s ms wall)' "$(ms "$(median "$tmp/snap")")"
	fi
	echo
	if [ -s "$tmp/base" ]; then
		b=$(median "$tmp/base")
		bc=$(median "$tmp/base.cpu")
		printf '  %-30s median wall %9s ms, cpu %6s ms' "base diagnose" "$(ms "$b")" "$bc"
		if [ -s "$tmp/base.snap" ]; then
			printf '  (one snapshot: %s ms wall)' "$(ms "$(median "$tmp/base.snap")")"
		fi
		echo
	fi
	printf '  %-30s median wall %9s ms, cpu %6s ms\n' "ss -tan" "$(ms "$a")" "$ac"
	printf '  %-30s median wall %9s ms, cpu %6s ms\n' "ss -tanp" "$(ms "$p")" "$pc"
	echo "  ratio wall diagnose/ss-tan $(ratio "$d" "$a")   diagnose/ss-tanp $(ratio "$d" "$p")"
	echo "  ratio cpu  diagnose/ss-tan $(ratio "$dc" "$ac")   diagnose/ss-tanp $(ratio "$dc" "$pc")"
	if [ -s "$tmp/base" ]; then
		echo "  ratio diagnose/base: wall $(ratio "$d" "$b")   cpu $(ratio "$dc" "$bc")"
	fi
done
