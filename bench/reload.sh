#!/bin/sh
# Reload storm under load, side by side:
#   proxysv  proxysv + proxyd (listeners passed to every generation)
#   sf       HAProxy legacy reload: haproxy -D -sf OLDPIDS
#   sfx      the same with -x (listening sockets fetched from the old process)
#   mw       HAProxy master-worker (-W, expose-fd listeners, SIGUSR2)
# For each: CLIENTS load threads on loopback (one request per connection,
# tcp mode; each failure counted), RELOADS reloads at RATE per second.
# Prints failed connections and requests per 1,000 reloads, live proxy
# processes right after the storm and after the drain deadline, reload
# latency (request -> new generation ready: median and max), and the
# throughput during the storm against the throughput before it.
#
# Usage: reload.sh [RELOADS [RATE [CLIENTS]]]      (root; ports 23900-23909)
# Environment: top_builddir (proxysv, proxyd, loadcli), HAPROXY (haproxy).
# Not part of `make check`: `make bench-reload`.
set -u
: "${top_builddir:?top_builddir must be set}"
RELOADS=${1:-100}
RATE=${2:-10}
CLIENTS=${3:-32}
HAPROXY=${HAPROXY:-haproxy}
PROXYSV="$top_builddir/supervisor/proxysv"
PROXYD="$top_builddir/proxyd/proxyd"
LOADCLI="$top_builddir/tests/integration/loadcli"
FP=23900 BP=23901
DEADLINE_S=3

[ "$(id -u)" = 0 ] || { echo "reload.sh: needs root"; exit 77; }
for b in "$PROXYSV" "$PROXYD" "$LOADCLI"; do
	[ -x "$b" ] || { echo "reload.sh: $b not built"; exit 1; }
done
command -v socat >/dev/null || { echo "reload.sh: socat needed"; exit 1; }
HAVE_HAPROXY=1
command -v "$HAPROXY" >/dev/null || HAVE_HAPROXY=0

T=$(mktemp -d "${TMPDIR:-/tmp}/bench-reload.XXXXXX")
PIDS=""
cleanup() {
	for p in $PIDS; do kill "$p" 2>/dev/null; done
	sleep 0.3
	for p in $PIDS; do kill -9 "$p" 2>/dev/null; done
	[ -f "$T/hap.pid" ] && for p in $(cat "$T/hap.pid"); do kill -9 "$p" 2>/dev/null; done
	pkill -9 -F "$T/mw.pid" 2>/dev/null
	wait 2>/dev/null
	[ -n "${KEEP:-}" ] || rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

now_us() { echo $(($(date +%s%N) / 1000)); }
period_s=$(awk "BEGIN { printf \"%.3f\", 1 / $RATE }")

"$LOADCLI" echo -l $BP -R "$T/echo.ready" >/dev/null 2>&1 &
PIDS="$PIDS $!"
i=0
while [ ! -f "$T/echo.ready" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done

# Processes listening on FP (any proxy).
listeners() {
	ss -Hltnp "sport = :$FP" | grep -o 'pid=[0-9]*' | sort -u | wc -l
}

# Processes of that name running this benchmark's configuration (old
# generations included; other instances on the host are not counted).
procs() {
	n=0
	for p in $(pgrep -x "$1"); do
		tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | grep -q "$T/" && n=$((n + 1))
	done
	echo $n
}

# Runs the load for the duration of the storm given as a function ($1),
# then prints the result line for mode $2.
storm() {
	fn=$1 mode=$2 pname=$3
	rm -f "$T/stop" "$T/lat"
	"$LOADCLI" load -p $FP -c "$CLIENTS" -P -S "$T/stop" >"$T/load.out" 2>&1 &
	LOAD=$!
	sleep 2
	$fn
	sleep 0.5
	after_storm=$(procs "$pname")
	touch "$T/stop"
	i=0
	while kill -0 $LOAD 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
	sleep $DEADLINE_S
	after_deadline=$(procs "$pname")
	res=$(grep '^conns=' "$T/load.out")
	cf=$(echo "$res" | sed -n 's/.*conn_fail=\([0-9]*\).*/\1/p')
	rf=$(echo "$res" | sed -n 's/.*req_fail=\([0-9]*\).*/\1/p')
	conns=$(echo "$res" | sed -n 's/^conns=\([0-9]*\).*/\1/p')
	# Throughput: requests/s over the 2 s before the storm vs during it.
	tp=$(awk -v n="$RELOADS" -v r="$RATE" '
		/^progress/ { split($3, a, "="); split($5, b, "="); ms[NR] = $2; rq[NR] = b[2] + 0; k = NR }
		END {
			base = (rq[2] - 0) / 2
			d = int(n / r); if (d < 1) d = 1
			if (k >= 2 + d) during = (rq[2 + d] - rq[2]) / d; else during = 0
			printf "%.0f %.0f", base, during
		}' "$T/load.out")
	lat=$(sort -n "$T/lat" 2>/dev/null | awk '{ v[NR] = $1 } END {
		if (NR == 0) { print "- -"; exit }
		printf "%.1f %.1f", v[int((NR + 1) / 2)], v[NR] }')
	printf '%-8s %8s %9s %9s %8s %8s %7s %7s %8s %8s %9s %9s\n' "$mode" "$RELOADS" "$conns" \
		"$cf" "$(awk "BEGIN { printf \"%.1f\", $cf * 1000 / $RELOADS }")" \
		"$(awk "BEGIN { printf \"%.1f\", $rf * 1000 / $RELOADS }")" \
		"$after_storm" "$after_deadline" $lat $tp
	grep '^error' "$T/load.out" | head -3 | sed 's/^/         /'
}

header() {
	printf '%-8s %8s %9s %9s %8s %8s %7s %7s %8s %8s %9s %9s\n' mode reloads conns \
		conn_fail fail/1k rfail/1k procs procs lat_med lat_max req/s req/s
	printf '%-8s %8s %9s %9s %8s %8s %7s %7s %8s %8s %9s %9s\n' "" "" "" "" conns reqs \
		storm +${DEADLINE_S}s ms ms before during
}

# ---- proxysv + proxyd ------------------------------------------------------
cat >"$T/sv.cfg" <<EOF
global
    maxconn 4000
defaults
    mode tcp
    timeout connect 2s
    timeout client 30s
    timeout server 30s
    timeout client-fin 3s
    timeout server-fin 3s
frontend fe
    bind 127.0.0.1:$FP
    default_backend be
backend be
    server s1 127.0.0.1:$BP
supervisor
    runtime-dir $T/sv
    proxyd $PROXYD
    db none
    drain-timeout ${DEADLINE_S}s
    kill-grace 1s
    max-generations 0
EOF
storm_proxysv() {
	i=0
	while [ $i -lt "$RELOADS" ]; do
		( printf 'reload\n' | socat -t 20 -T 30 - "UNIX-CONNECT:$T/sv/control.sock" |
			sed -n 's/^ok .*reload_ms=\([0-9.]*\).*/\1/p' >>"$T/lat" ) &
		sleep "$period_s"
		i=$((i + 1))
	done
	wait_bg
}
wait_bg() {
	i=0
	while [ "$(jobs -p | wc -l)" -gt 1 ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
}

header
"$PROXYSV" -f "$T/sv.cfg" >"$T/sv.log" 2>&1 &
SV=$!
PIDS="$PIDS $SV"
i=0
while [ ! -S "$T/sv/control.sock" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
sleep 0.5
storm storm_proxysv proxysv proxyd
kill $SV
i=0
while kill -0 $SV 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done

[ $HAVE_HAPROXY = 1 ] || { echo "(haproxy not installed: HAProxy rows skipped)"; exit 0; }

# ---- HAProxy ---------------------------------------------------------------
hap_cfg() {
	cat >"$T/hap.cfg" <<EOF
global
    maxconn 4000
    hard-stop-after ${DEADLINE_S}s
    stats socket $T/hap.sock mode 600 level admin expose-fd listeners
defaults
    mode tcp
    timeout connect 2s
    timeout client 30s
    timeout server 30s
    timeout client-fin 3s
    timeout server-fin 3s
frontend fe
    bind 127.0.0.1:$FP
    default_backend be
backend be
    server s1 127.0.0.1:$BP
EOF
}

# Legacy: each reload is a new daemon told to stop the old ones (-sf);
# latency = until the new daemon's parent returned (bound and started).
storm_sf() {
	i=0
	while [ $i -lt "$RELOADS" ]; do
		t0=$(now_us)
		# shellcheck disable=SC2046
		"$HAPROXY" -f "$T/hap.cfg" -D -p "$T/hap.pid" $XOPT -sf $(cat "$T/hap.pid") \
			>>"$T/hap.log" 2>&1
		t1=$(now_us)
		echo "$t0 $t1" | awk '{ printf "%.1f\n", ($2 - $1) / 1000 }' >>"$T/lat"
		sleep "$period_s"
		i=$((i + 1))
	done
}

hap_cfg
for mode in sf sfx; do
	XOPT=""
	[ $mode = sfx ] && XOPT="-x $T/hap.sock"
	"$HAPROXY" -f "$T/hap.cfg" -D -p "$T/hap.pid" >>"$T/hap.log" 2>&1 ||
		{ echo "haproxy did not start"; tail "$T/hap.log"; exit 1; }
	sleep 0.5
	storm storm_sf $mode haproxy
	for p in $(pgrep -x haproxy); do
		grep -q "$T/hap.cfg" /proc/$p/cmdline 2>/dev/null && kill -9 $p
	done
	rm -f "$T/hap.pid"
	sleep 0.5
done

# Master-worker: SIGUSR2 to the master; latency = until a new worker runs.
storm_mw() {
	master=$(cat "$T/mw.pid")
	i=0
	while [ $i -lt "$RELOADS" ]; do
		old=$(pgrep -P "$master" | sort | tr '\n' ' ')
		t0=$(now_us)
		kill -USR2 "$master"
		j=0
		while [ $j -lt 2000 ]; do
			new=$(pgrep -P "$master" | sort | tr '\n' ' ')
			n=0
			for p in $new; do
				case " $old " in *" $p "*) ;; *) n=1 ;; esac
			done
			[ $n = 1 ] && break
			sleep 0.001
			j=$((j + 1))
		done
		t1=$(now_us)
		echo "$t0 $t1" | awk '{ printf "%.1f\n", ($2 - $1) / 1000 }' >>"$T/lat"
		sleep "$period_s"
		i=$((i + 1))
	done
}
"$HAPROXY" -W -f "$T/hap.cfg" -p "$T/mw.pid" >>"$T/hap.log" 2>&1 &
PIDS="$PIDS $!"
sleep 1
storm storm_mw mw haproxy
echo "(procs: processes of that name alive; HAProxy mw counts its master too."
echo " lat: proxysv = control request -> READY of the new generation, validation included;"
echo " sf/sfx = haproxy -D -sf invocation -> its return; mw = SIGUSR2 -> new worker seen)"
exit 0
