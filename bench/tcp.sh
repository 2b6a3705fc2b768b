#!/bin/bash
# bench/tcp.sh: proxyd against HAProxy, both in `mode tcp` in front of the
# same loopback backends. Not a test.
#
# Proxies ("variants"), all started by this script in the foreground with
# their own temporary configuration and no session logging:
#   proxyd     proxyd with its default thread count (one per CPU), splice on
#   proxyd1    proxyd with nbthread 1
#   proxyd-S   proxyd -S (splice off: buffered copy only)
#   haproxy    HAProxy with its default thread count (one per CPU)
#   haproxy1   HAProxy with nbthread 1
# Backends: nginx (Debian's nginx-light, one worker, a 3-byte static response,
# keep-alive) for the HTTP load, and `tcpkit sink` (reads and discards) for the
# bulk and idle tests.
#
# Figures, each the median of interleaved rounds (the variants' order rotates
# from one round to the next):
#   ka       wrk -c50 -t2 -d5s, keep-alive: req/s, p50, p99 (ms), and the
#            proxy's CPU time (utime+stime of the whole process from
#            /proc/PID/stat over the run) per request in microseconds;
#   close    the same with -H 'Connection: close' (one connection per request);
#   bulk     1 GiB through one connection (tcpkit send -> proxy -> sink), MB/s,
#            and the proxy's CPU time for it (ms, 10 ms resolution);
#   idle     VmRSS growth of a fresh proxy process while HOLD idle client
#            connections are held through it (2 tcpkit hold processes); the
#            fd limit is 20000 per process and cannot be raised here, so
#            10,000 sessions (20,000 proxy fds plus listeners) cannot fit:
#            HOLD defaults to 9900 and the figure is scaled to 10k sessions.
# Ratios compare the proxyd variant (splice on) with each HAProxy variant,
# oriented so that >= 1.00 means proxyd is at least as good (req/s and MB/s: proxyd/haproxy; latency, CPU and memory:
# haproxy/proxyd).
#
# Build: proxyd and tcpkit come from $top_builddir when that build has no
# sanitizers, else from an optimized build in $BENCH_BUILDDIR (default
# $top_srcdir/build-bench, configured and built here when needed).
#
# Environment: ROUNDS (5), MEMROUNDS (3), HOLD (9900), DURATION (5s),
# VARIANTS ("proxyd proxyd1 proxyd-S haproxy haproxy1"), NGINX_WORKERS (1), PERF (1: perf
# record proxyd under the keep-alive load, when perf exists), HAPROXY, NGINX,
# WRK. Ports 25000-25499 on 127.0.0.1. Needs root (nginx master, perf).
# Everything it starts is stopped on exit.
set -u

: "${top_srcdir:=$(cd "$(dirname "$0")/.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
ROUNDS=${ROUNDS:-5}
MEMROUNDS=${MEMROUNDS:-3}
HOLD=${HOLD:-9900}
DURATION=${DURATION:-5s}
VARIANTS=${VARIANTS:-proxyd proxyd1 proxyd-S haproxy haproxy1}
NGINX_WORKERS=${NGINX_WORKERS:-1}
PERF=${PERF:-1}
HAPROXY=${HAPROXY:-/usr/sbin/haproxy}
NGINX=${NGINX:-/usr/sbin/nginx}
WRK=${WRK:-wrk}
BULK_BYTES=1073741824

P_HTTP_BE=25000		# nginx
P_SINK_BE=25001		# tcpkit sink
# Per variant: http frontend = base, bulk/idle frontend = base + 1.
port_base() {
	case $1 in
	proxyd) echo 25010 ;;
	haproxy) echo 25020 ;;
	haproxy1) echo 25030 ;;
	proxyd-S) echo 25040 ;;
	proxyd1) echo 25050 ;;
	esac
}

T=""
PIDS=""
declare -A PPID_OF

die() {
	echo "bench/tcp: $*" >&2
	exit 1
}

cleanup() {
	local p
	for p in $PIDS; do
		kill -TERM "$p" 2>/dev/null
	done
	sleep 0.2
	for p in $PIDS; do
		kill -KILL "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	[ -n "$T" ] && [ -z "${KEEP:-}" ] && rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

[ "$(id -u)" = 0 ] || die "run as root"
[ -x "$HAPROXY" ] || die "$HAPROXY not installed"
[ -x "$NGINX" ] || die "$NGINX not installed"
command -v "$WRK" >/dev/null 2>&1 || die "wrk not installed"
command -v ss >/dev/null 2>&1 || die "ss not installed"

# ---- build ----------------------------------------------------------------

sanitized() {
	grep -q -- '--enable-sanitizers' "$1/config.status" 2>/dev/null &&
		! grep -q -- '--enable-sanitizers=no' "$1/config.status"
}

B=$top_builddir
if sanitized "$B" || [ ! -x "$B/proxyd/proxyd" ] || [ ! -x "$B/bench/tcpkit" ]; then
	B=${BENCH_BUILDDIR:-$top_srcdir/build-bench}
	echo "bench/tcp: using the optimized build in $B"
	mkdir -p "$B" || die "mkdir $B"
	if [ ! -f "$B/Makefile" ]; then
		(cd "$B" && "$top_srcdir/configure" CFLAGS='-g -O2' >configure.out 2>&1) ||
			die "configure failed (see $B/configure.out)"
	fi
	sanitized "$B" && die "$B is a sanitized build"
	(cd "$B" && make -j2 proxyd/proxyd bench/tcpkit >make.out 2>&1) ||
		die "build failed (see $B/make.out)"
fi
PROXYD=$B/proxyd/proxyd
TCPKIT=$B/bench/tcpkit

T=$(mktemp -d "${TMPDIR:-/tmp}/bench-tcp.XXXXXX") || die "mktemp"
hz=$(getconf CLK_TCK 2>/dev/null || echo 100)

# ---- helpers --------------------------------------------------------------

# wait_listen PORT: until something listens on 127.0.0.1:PORT (5 s at most).
wait_listen() {
	local i=0
	while ! ss -Htln "sport = :$1" | grep -q .; do
		i=$((i + 1))
		[ $i -le 100 ] || return 1
		sleep 0.05
	done
}

# wait_gone PORT: until nothing listens on 127.0.0.1:PORT (5 s at most).
wait_gone() {
	local i=0
	while ss -Htln "sport = :$1" | grep -q .; do
		i=$((i + 1))
		[ $i -le 100 ] || return 1
		sleep 0.05
	done
}

# estab_to PORT: established connections whose destination is PORT.
estab_to() {
	ss -Htn state established "dport = :$1" | wc -l
}

cpu_ticks() {
	awk '{ print $14 + $15 }' "/proc/$1/stat"
}

rss_kb() {
	awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"
}

# median FILE
median() {
	sort -g "$1" | awk '{ v[NR] = $1 } END {
		if (NR == 0) { print "-"; exit }
		if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

start_backends() {
	mkdir -p "$T/nginx"
	cat >"$T/nginx/nginx.conf" <<EOF
user root;
worker_processes $NGINX_WORKERS;
daemon off;
pid $T/nginx/nginx.pid;
error_log $T/nginx/error.log warn;
events { worker_connections 4096; }
http {
	access_log off;
	client_body_temp_path $T/nginx/body;
	keepalive_requests 100000000;
	keepalive_timeout 300s;
	server {
		listen 127.0.0.1:$P_HTTP_BE backlog=4096;
		location / { return 200 "ok\n"; }
	}
}
EOF
	"$NGINX" -p "$T/nginx" -c "$T/nginx/nginx.conf" >"$T/nginx/out" 2>&1 &
	PIDS="$PIDS $!"
	"$TCPKIT" sink $P_SINK_BE 3600 >"$T/sink.out" 2>"$T/sink.err" &
	PIDS="$PIDS $!"
	wait_listen $P_HTTP_BE || { cat "$T/nginx/out" "$T/nginx/error.log" >&2; die "nginx did not start"; }
	wait_listen $P_SINK_BE || { cat "$T/sink.err" >&2; die "sink did not start"; }
}

write_config() {
	local v=$1 base f
	base=$(port_base "$v")
	f="$T/$v.cfg"
	{
		echo "global"
		echo "	maxconn 9960"
		case $v in
		haproxy1 | proxyd1) echo "	nbthread 1" ;;
		esac
		echo "defaults"
		echo "	mode tcp"
		echo "	maxconn 9960"
		echo "	timeout connect 5s"
		echo "	timeout client 300s"
		echo "	timeout server 300s"
		echo "listen http"
		echo "	bind 127.0.0.1:$base"
		echo "	server nginx 127.0.0.1:$P_HTTP_BE"
		echo "listen bulk"
		echo "	bind 127.0.0.1:$((base + 1))"
		echo "	server sink 127.0.0.1:$P_SINK_BE"
	} >"$f"
}

# start_proxy VARIANT: starts it fresh; sets PPID_OF[VARIANT].
start_proxy() {
	local v=$1 base
	base=$(port_base "$v")
	case $v in
	proxyd | proxyd1) "$PROXYD" -f "$T/$v.cfg" >"$T/$v.log" 2>&1 & ;;
	proxyd-S) "$PROXYD" -S -f "$T/$v.cfg" >"$T/$v.log" 2>&1 & ;;
	haproxy | haproxy1) "$HAPROXY" -db -f "$T/$v.cfg" >"$T/$v.log" 2>&1 & ;;
	*) die "unknown variant $v" ;;
	esac
	PPID_OF[$v]=$!
	PIDS="$PIDS $!"
	wait_listen "$base" && wait_listen $((base + 1)) ||
		{ cat "$T/$v.log" >&2; die "$v did not start"; }
}

stop_proxy() {
	local v=$1 p=${PPID_OF[$1]}
	kill -TERM "$p" 2>/dev/null
	wait "$p" 2>/dev/null
	wait_gone "$(port_base "$v")" || die "$v did not stop"
}

# to_us VALUE: wrk's "253.00us" / "1.20ms" / "1.01s" in microseconds.
to_us() {
	awk -v v="$1" 'BEGIN {
		n = v + 0
		if (v ~ /us$/) m = 1; else if (v ~ /ms$/) m = 1000;
		else if (v ~ /m$/) m = 60000000; else if (v ~ /s$/) m = 1000000; else m = 1
		printf "%.1f\n", n * m }'
}

# run_wrk VARIANT KIND: one wrk run (KIND ka or close), appends the figures.
run_wrk() {
	local v=$1 kind=$2 base p c0 c1 out reqs rps p50 p99 hdr=()
	base=$(port_base "$v")
	p=${PPID_OF[$v]}
	[ "$kind" = close ] && hdr=(-H 'Connection: close')
	out="$T/wrk.out"
	c0=$(cpu_ticks "$p")
	timeout 60 "$WRK" -c50 -t2 -d"$DURATION" --latency "${hdr[@]}" \
		"http://127.0.0.1:$base/" >"$out" 2>&1 || { cat "$out" >&2; die "wrk failed ($v $kind)"; }
	c1=$(cpu_ticks "$p")
	reqs=$(awk '/requests in/ { print $1 }' "$out")
	rps=$(awk '/^Requests\/sec:/ { print $2 }' "$out")
	p50=$(awk '$1 == "50%" { print $2 }' "$out")
	p99=$(awk '$1 == "99%" { print $2 }' "$out")
	[ -n "$reqs" ] && [ "$reqs" -gt 0 ] || { cat "$out" >&2; die "wrk made no requests ($v $kind)"; }
	echo "$rps" >>"$T/$v.$kind.rps"
	to_us "$p50" >>"$T/$v.$kind.p50"
	to_us "$p99" >>"$T/$v.$kind.p99"
	awk -v d=$((c1 - c0)) -v hz="$hz" -v n="$reqs" \
		'BEGIN { printf "%.2f\n", d * 1000000 / hz / n }' >>"$T/$v.$kind.cpu"
	if grep -q -e 'Socket errors' -e 'Non-2xx' "$out"; then
		echo "  $v $kind: $(grep -e 'Socket errors' -e 'Non-2xx' "$out" | tr -s ' ' | tr '\n' ' ')" \
			>>"$T/errors"
	fi
}

run_bulk() {
	local v=$1 base out us c0 c1
	base=$(port_base "$v")
	c0=$(cpu_ticks "${PPID_OF[$v]}")
	out=$(timeout 120 "$TCPKIT" send $((base + 1)) $BULK_BYTES) || die "bulk send failed ($v)"
	c1=$(cpu_ticks "${PPID_OF[$v]}")
	echo $(((c1 - c0) * 1000 / hz)) >>"$T/$v.bulk.cpu"
	us=$(echo "$out" | sed -n 's/.* us=\([0-9]*\).*/\1/p')
	awk -v b=$BULK_BYTES -v us="$us" 'BEGIN { printf "%.0f\n", b / us }' >>"$T/$v.bulk.mbps"
}

# run_idle VARIANT: a fresh proxy, VmRSS before and after HOLD idle sessions.
run_idle() {
	local v=$1 base p r0 r1 h1 h2 half i n
	base=$(port_base "$v")
	start_proxy "$v"
	p=${PPID_OF[$v]}
	sleep 0.3
	r0=$(rss_kb "$p")
	half=$((HOLD / 2))
	"$TCPKIT" hold $((base + 1)) $half 300 >"$T/hold1.out" 2>"$T/hold1.err" &
	h1=$!
	PIDS="$PIDS $h1"
	"$TCPKIT" hold $((base + 1)) $((HOLD - half)) 300 >"$T/hold2.out" 2>"$T/hold2.err" &
	h2=$!
	PIDS="$PIDS $h2"
	# Every client connected, and every session has reached the sink.
	i=0
	while :; do
		n=$(estab_to $P_SINK_BE)
		grep -q ready "$T/hold1.out" && grep -q ready "$T/hold2.out" &&
			[ "$n" -ge "$HOLD" ] && break
		i=$((i + 1))
		if [ $i -gt 600 ] || ! kill -0 $h1 2>/dev/null || ! kill -0 $h2 2>/dev/null; then
			cat "$T/hold1.err" "$T/hold2.err" "$T/$v.log" >&2
			die "$v: $n of $HOLD idle sessions established"
		fi
		sleep 0.1
	done
	sleep 0.5
	r1=$(rss_kb "$p")
	echo $((r1 - r0)) >>"$T/$v.idle.kb"
	echo "$r0" >>"$T/$v.idle.base"
	kill -TERM $h1 $h2 2>/dev/null
	wait $h1 $h2 2>/dev/null
	stop_proxy "$v"
	# Let the sink see every end of stream before the next variant.
	i=0
	while [ "$(estab_to $P_SINK_BE)" -gt 0 ] && [ $i -lt 100 ]; do
		sleep 0.1
		i=$((i + 1))
	done
}

# rotate N: VARIANTS rotated left by N.
rotate() {
	local a=($VARIANTS) k=${#a[@]} i out=""
	for ((i = 0; i < k; i++)); do
		out="$out ${a[$(((i + $1) % k))]}"
	done
	echo $out
}

# ---- run ------------------------------------------------------------------

echo "bench/tcp: proxyd $PROXYD"
echo "bench/tcp: $("$HAPROXY" -v | head -n 1)"
echo "bench/tcp: $(nproc) CPUs; haproxy and proxyd = default nbthread ($(nproc))," \
	"haproxy1 and proxyd1 = nbthread 1"
echo "bench/tcp: $ROUNDS load rounds (wrk -c50 -t2 -d$DURATION), $MEMROUNDS idle rounds" \
	"($HOLD sessions), medians; uptime before: $(uptime)"

start_backends
for v in $VARIANTS; do
	write_config "$v"
done

for ((r = 0; r < MEMROUNDS; r++)); do
	for v in $(rotate $r); do
		run_idle "$v"
	done
done

for v in $VARIANTS; do
	start_proxy "$v"
done
for ((r = 0; r < ROUNDS; r++)); do
	for kind in ka close; do
		for v in $(rotate $r); do
			run_wrk "$v" "$kind"
		done
	done
	for v in $(rotate $r); do
		run_bulk "$v"
	done
done

# ---- report ---------------------------------------------------------------

declare -A M
for v in $VARIANTS; do
	for f in ka.rps ka.p50 ka.p99 ka.cpu close.rps close.p50 close.p99 close.cpu bulk.mbps bulk.cpu; do
		case $f in
		ka.cpu | close.cpu) fmt="%.2f" ;;
		*) fmt="%.0f" ;;
		esac
		M[$v.$f]=$(awk -v m="$(median "$T/$v.$f")" -v fmt="$fmt" \
			'BEGIN { if (m == "-") print "-"; else printf fmt "\n", m }')
	done
	M[$v.idle]=$(awk -v kb="$(median "$T/$v.idle.kb")" -v n="$HOLD" \
		'BEGIN { printf "%.0f\n", kb * 10000 / n }')
	M[$v.idlebase]=$(median "$T/$v.idle.base")
done

# ratio A B: A/B with two decimals.
ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 <= 0 || a + 0 <= 0) print "-"; else printf "%.2f\n", a / b }'
}

# paired KEY A B DIR: the median over rounds of the per-round ratio
# (A/B for DIR hi, B/A for lo): each round's runs are adjacent in time, so
# this follows the load of the machine less than the ratio of the medians.
paired() {
	local fa="$T/$2.$1" fb="$T/$3.$1"
	[ -s "$fa" ] && [ -s "$fb" ] || { echo "-"; return; }
	paste "$fa" "$fb" | awk -v dir="$4" '$1 > 0 && $2 > 0 {
		print (dir == "hi" ? $1 / $2 : $2 / $1) }' >"$T/paired"
	awk -v m="$(median "$T/paired")" 'BEGIN { if (m == "-") print "-"; else printf "%.2f\n", m }'
}

haps=""
for v in $VARIANTS; do
	case $v in haproxy*) haps="$haps $v" ;; esac
done

echo
printf '%-34s' "figure (median)"
for v in $VARIANTS; do
	printf '%12s' "$v"
done
for h in $haps; do
	printf '%10s' "/$h"
done
for h in $haps; do
	printf '%13s' "/$h pr"
done
echo
while IFS=: read -r key label dir; do
	printf '%-34s' "$label"
	for v in $VARIANTS; do
		printf '%12s' "${M[$v.$key]}"
	done
	for h in $haps; do
		if [ "$dir" = hi ]; then
			printf '%10s' "$(ratio "${M[proxyd.$key]}" "${M[$h.$key]}")"
		else
			printf '%10s' "$(ratio "${M[$h.$key]}" "${M[proxyd.$key]}")"
		fi
	done
	for h in $haps; do
		if [ "$key" = idle ]; then
			printf '%13s' "$(paired idle.kb proxyd "$h" lo)"
		else
			printf '%13s' "$(paired "$key" proxyd "$h" "$dir")"
		fi
	done
	echo
done <<EOF
ka.rps:keep-alive req/s:hi
ka.p50:keep-alive p50 us:lo
ka.p99:keep-alive p99 us:lo
ka.cpu:keep-alive proxy CPU us/req:lo
close.rps:conn-per-req req/s:hi
close.p50:conn-per-req p50 us:lo
close.p99:conn-per-req p99 us:lo
close.cpu:conn-per-req proxy CPU us/req:lo
bulk.mbps:bulk 1 GiB MB/s:hi
bulk.cpu:bulk proxy CPU ms per GiB:lo
idle:RSS growth, 10k idle sess, kB:lo
EOF
echo "ratios (/haproxy: of the medians; /haproxy pr: median of the per-round ratios):"
echo "        >= 1.00 means proxyd is at least as good (req/s, MB/s: proxyd/haproxy;"
echo "        latency, CPU, memory: haproxy/proxyd)"
printf 'idle: %s sessions held, scaled to 10k; base VmRSS kB:' "$HOLD"
for v in $VARIANTS; do
	printf ' %s=%s' "$v" "${M[$v.idlebase]}"
done
echo
echo "per-round values (rps ka | rps close | MB/s | idle kB):"
for v in $VARIANTS; do
	echo "  $v: $(tr '\n' ' ' <"$T/$v.ka.rps")| $(tr '\n' ' ' <"$T/$v.close.rps")|" \
		"$(tr '\n' ' ' <"$T/$v.bulk.mbps")| $(tr '\n' ' ' <"$T/$v.idle.kb")"
done
[ -s "$T/errors" ] && { echo "wrk reported errors:"; cat "$T/errors"; }
echo "uptime after: $(uptime)"

# ---- perf profile of proxyd under the keep-alive load ----------------------

case " $VARIANTS " in *" proxyd "*) ;; *) PERF=0 ;; esac
if [ "$PERF" = 1 ] && command -v perf >/dev/null 2>&1; then
	p=${PPID_OF[proxyd]}
	timeout 60 "$WRK" -c50 -t2 -d8s "http://127.0.0.1:$(port_base proxyd)/" >/dev/null 2>&1 &
	w=$!
	PIDS="$PIDS $w"
	sleep 1
	if timeout 30 perf record -q -g -o "$T/perf.data" -p "$p" -- sleep 5 >/dev/null 2>&1; then
		echo
		echo "perf: proxyd under keep-alive load (self time, top symbols):"
		perf report -i "$T/perf.data" --stdio --no-children --sort symbol \
			-g none --percent-limit 1 2>/dev/null | grep -v -e '^#' -e '^$' | head -n 25
	else
		echo "perf record failed"
	fi
	wait $w 2>/dev/null
fi
exit 0
