#!/bin/sh
# HTTP throughput, latency and CPU cost per request, side by side on one
# machine: wrk -> proxyd (mode http) -> nginx, wrk -> HAProxy (mode http)
# -> nginx, each with its default thread count (one per CPU) and with
# nbthread 1 (proxyd1, haproxy1), and wrk -> nginx directly. Interleaved
# rounds (direct, proxyd, haproxy, proxyd1, haproxy1, then again), medians over the rounds,
# for keep-alive clients and for one request per connection
# ("Connection: close"). CPU per request is the proxy process's
# utime+stime (/proc/PID/stat) over a run divided by the requests wrk made.
#
# Usage: http.sh [ROUNDS [SECONDS [CONNECTIONS]]]     (ports 24900-24909)
# Ratios: proxyd/haproxy (both default threads) and proxyd1/haproxy1.
# Environment: top_builddir (proxyd; build it without sanitizers for
# meaningful figures), HAPROXY, NGINX, WRK.
# Not part of `make check`: `make bench-http`.
set -u
: "${top_builddir:?top_builddir must be set}"
ROUNDS=${1:-5}
SECS=${2:-5}
CONNS=${3:-50}
PROXYD="$top_builddir/proxyd/proxyd"
HAPROXY=${HAPROXY:-haproxy}
NGINX=${NGINX:-$(command -v nginx || echo /usr/sbin/nginx)}
WRK=${WRK:-wrk}
PN=24900 PP=24901 PH=24902 PP1=24903 PH1=24904

[ -x "$PROXYD" ] || { echo "http.sh: $PROXYD not built"; exit 1; }
for b in "$NGINX" "$WRK" "$HAPROXY"; do
	command -v "$b" >/dev/null || { echo "http.sh: $b is needed"; exit 77; }
done
if nm "$PROXYD" 2>/dev/null | grep -q __asan_init; then
	echo "http.sh: warning: $PROXYD is built with sanitizers; figures are not meaningful"
fi

T=$(mktemp -d "${TMPDIR:-/tmp}/bench-http.XXXXXX")
chmod 755 "$T"
PIDS=""
cleanup() {
	for p in $PIDS; do kill "$p" 2>/dev/null; done
	sleep 0.3
	for p in $PIDS; do kill -9 "$p" 2>/dev/null; done
	wait 2>/dev/null
	[ -n "${KEEP:-}" ] || rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

mkdir -p "$T/www" "$T/ngx"
# A page the size of nginx's default index.html.
awk 'BEGIN { for (i = 0; i < 612; i++) printf "%c", 97 + i % 26 }' >"$T/www/index.html"
chmod 755 "$T/www"
chmod 644 "$T/www/index.html"
cat >"$T/nginx.conf" <<NGX
worker_processes 1;
error_log $T/nginx-error.log;
pid $T/ngx/nginx.pid;
events { worker_connections 4096; }
http {
    access_log off;
    keepalive_requests 1000000;
    client_body_temp_path $T/ngx/cb;
    proxy_temp_path $T/ngx/p;
    fastcgi_temp_path $T/ngx/f;
    uwsgi_temp_path $T/ngx/u;
    scgi_temp_path $T/ngx/s;
    server {
        listen 127.0.0.1:$PN backlog=4096;
        root $T/www;
    }
}
NGX
# proxy_cfg PORT [NBTHREAD]: the same configuration for both proxies.
proxy_cfg() {
	cat <<CFG
global
    maxconn 4000
${2:+    nbthread $2}
defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s
    timeout http-request 10s
listen bench
    bind 127.0.0.1:$1
    server ngx 127.0.0.1:$PN
CFG
}
proxy_cfg $PP >"$T/proxyd.cfg"
proxy_cfg $PH >"$T/haproxy.cfg"
proxy_cfg $PP1 1 >"$T/proxyd1.cfg"
proxy_cfg $PH1 1 >"$T/haproxy1.cfg"

"$NGINX" -c "$T/nginx.conf" -p "$T/ngx" -g 'daemon off;' 2>>"$T/nginx-error.log" &
PIDS="$PIDS $!"
# start_bg VAR LOG CMD...: CMD in the background, stderr to LOG, its pid in VAR.
start_bg() {
	v=$1 log=$2
	shift 2
	"$@" 2>"$log" &
	eval "$v=\$!"
	PIDS="$PIDS $!"
}
start_bg PROXYD_PID "$T/proxyd.log" "$PROXYD" -f "$T/proxyd.cfg"
start_bg HAPROXY_PID "$T/haproxy.log" "$HAPROXY" -db -f "$T/haproxy.cfg"
start_bg PROXYD1_PID "$T/proxyd1.log" "$PROXYD" -f "$T/proxyd1.cfg"
start_bg HAPROXY1_PID "$T/haproxy1.log" "$HAPROXY" -db -f "$T/haproxy1.cfg"
for port in $PN $PP $PH $PP1 $PH1; do
	i=0
	until curl -s -o /dev/null "http://127.0.0.1:$port/index.html"; do
		i=$((i + 1)); [ $i -lt 100 ] || { echo "http.sh: nothing on $port"; exit 1; }
		sleep 0.1
	done
done
# Something else answering on a port (a proxy that could not bind) would
# be measured in its place.
for p in $PROXYD_PID $HAPROXY_PID $PROXYD1_PID $HAPROXY1_PID; do
	kill -0 "$p" 2>/dev/null || { echo "http.sh: a proxy exited at start (port in use?)"; exit 1; }
done

# cpu_ticks PID: utime + stime in clock ticks.
cpu_ticks() {
	awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0
}
HZ=$(getconf CLK_TCK)

# to_us VALUE: wrk's "1.23ms" / "850.00us" / "1.01s" in microseconds.
to_us() {
	echo "$1" | awk '/us$/ { sub(/us$/, ""); print $1; next }
		/ms$/ { sub(/ms$/, ""); print $1 * 1000; next }
		/s$/ { sub(/s$/, ""); print $1 * 1000000; next } { print $1 }'
}

# run NAME PORT PID MODE: one wrk run; appends "rps p50 p99 cpu_us_per_req
# errors" to $T/NAME.MODE.
run() {
	name=$1 port=$2 pid=$3 mode=$4
	hdr=""
	[ "$mode" = close ] && hdr="Connection: close"
	c0=0
	[ "$pid" != - ] && c0=$(cpu_ticks "$pid")
	if [ -n "$hdr" ]; then
		"$WRK" -t1 -c"$CONNS" -d"${SECS}s" --latency -H "$hdr" "http://127.0.0.1:$port/index.html" >"$T/wrk.out" 2>&1
	else
		"$WRK" -t1 -c"$CONNS" -d"${SECS}s" --latency "http://127.0.0.1:$port/index.html" >"$T/wrk.out" 2>&1
	fi
	c1=0
	[ "$pid" != - ] && c1=$(cpu_ticks "$pid")
	rps=$(awk '/^Requests\/sec:/ { print $2 }' "$T/wrk.out")
	reqs=$(awk '/requests in/ { print $1 }' "$T/wrk.out")
	p50=$(to_us "$(awk '$1 == "50%" { print $2 }' "$T/wrk.out")")
	p99=$(to_us "$(awk '$1 == "99%" { print $2 }' "$T/wrk.out")")
	errs=$(awk '/Socket errors/ { gsub(/,/, ""); print $4 + $6 + $8 + $10 } /Non-2xx/ { print $5 }' \
		"$T/wrk.out" | paste -sd+ | bc 2>/dev/null)
	cpu=$(awk -v a="$c0" -v b="$c1" -v hz="$HZ" -v n="$reqs" \
		'BEGIN { if (n > 0 && b > a) printf "%.2f", (b - a) * 1000000 / hz / n; else print "-" }')
	echo "$rps $p50 $p99 $cpu ${errs:-0}" >>"$T/$name.$mode"
}

# median FILE COLUMN
median() {
	awk -v c="$2" '$c != "-" { print $c }' "$1" | sort -g |
		awk '{ v[NR] = $1 } END { if (NR == 0) print "-"; else if (NR % 2) print v[(NR + 1) / 2];
			else printf "%.2f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

echo "http.sh: $ROUNDS rounds of ${SECS}s, $CONNS connections, 612-byte page"
for mode in keepalive close; do
	r=1
	while [ $r -le "$ROUNDS" ]; do
		run direct $PN - $mode
		run proxyd $PP $PROXYD_PID $mode
		run haproxy $PH $HAPROXY_PID $mode
		run proxyd1 $PP1 $PROXYD1_PID $mode
		run haproxy1 $PH1 $HAPROXY1_PID $mode
		r=$((r + 1))
	done
done

ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN { if (a == "-" || b == "-" || b == 0) print "-"; else printf "%.2f", a / b }'
}
for mode in keepalive close; do
	echo
	echo "== $mode (medians) =="
	printf '%-8s %10s %9s %9s %12s %7s\n' target req/s p50_us p99_us cpu_us/req errors
	for name in direct proxyd haproxy proxyd1 haproxy1; do
		f=$T/$name.$mode
		printf '%-8s %10s %9s %9s %12s %7s\n' $name "$(median "$f" 1)" "$(median "$f" 2)" \
			"$(median "$f" 3)" "$(median "$f" 4)" "$(awk '{ s += $5 } END { print s + 0 }' "$f")"
	done
	for pair in proxyd:haproxy proxyd1:haproxy1; do
		a=${pair%:*} b=${pair#*:}
		pr=$(median "$T/$a.$mode" 1) hr=$(median "$T/$b.$mode" 1)
		p9=$(median "$T/$a.$mode" 3) h9=$(median "$T/$b.$mode" 3)
		pc=$(median "$T/$a.$mode" 4) hc=$(median "$T/$b.$mode" 4)
		echo "ratios $a/$b: req/s $(ratio "$pr" "$hr") (target >= 1.00)," \
			"p99 $(ratio "$p9" "$h9") (<= 1.00), cpu/req $(ratio "$pc" "$hc") (<= 1.00)"
	done
done
