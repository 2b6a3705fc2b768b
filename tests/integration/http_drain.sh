#!/bin/sh
# Draining without losing requests: keep-alive HTTP load through proxysv
# while it reloads proxyd 30 times. Every draining generation answers each
# keep-alive connection's next request with "Connection: close" and never
# closes a connection a request may be arriving on, so the load sees no
# failed request, and every old generation ends by itself (well before the
# drain deadline). The clients wait 0-20 ms between requests on each
# connection, as real ones do: a proxy that closes idle connections when it
# drains loses requests here (HAProxy 2.6 master-worker lost about 25 per
# reload with this load). A wrk run (no think time) checks the same at a
# higher rate. Ports 24560-24569.
. "$top_srcdir/tests/integration/sv_lib.sh"
HTTPBACK="$top_builddir/tests/integration/httpback"
[ -x "$HTTPBACK" ] || { echo "SKIP: $HTTPBACK not built"; exit 77; }
command -v wrk >/dev/null || { echo "SKIP: wrk is needed"; exit 77; }
command -v python3 >/dev/null || { echo "SKIP: python3 is needed"; exit 77; }

FP=24560 BP=24561
"$HTTPBACK" -p $BP -R "$T/hb.ready" 2>"$T/hb.log" &
PIDS="$PIDS $!"
i=0
while [ ! -f "$T/hb.ready" ]; do
	i=$((i + 1)); [ $i -lt 100 ] || fail "httpback did not start"
	sleep 0.05
done
cat >"$T/sv.cfg" <<CFG
global
    maxconn 2000
defaults
    mode http
    timeout connect 2s
    timeout client 30s
    timeout server 30s
    timeout http-request 5s
    timeout http-keep-alive 30s
frontend fe
    bind 127.0.0.1:$FP
    default_backend be
backend be
    server s1 127.0.0.1:$BP
supervisor
    runtime-dir $T/run
    proxyd $PROXYD
    drain-timeout 20s
    kill-grace 1s
    max-generations 0
    tick 200ms
CFG
start_sv "$T/sv.cfg"
curl -s -o /dev/null --max-time 5 "http://127.0.0.1:$FP/" || fail "no answer through proxysv"

# storm SECONDS: 30 reloads, one every 0.2 s, starting after 1 s.
storm() {
	sleep 1
	i=0
	while [ $i -lt 30 ]; do
		kill -HUP "$SV_PID" || fail "proxysv is gone"
		sleep 0.2
		i=$((i + 1))
	done
}

# 1. Clients with think time.
python3 "$top_srcdir/tests/integration/http_kaclient.py" $FP 32 9 >"$T/ka.out" 2>"$T/ka.log" &
KA=$!
PIDS="$PIDS $KA"
storm
i=0
while kill -0 $KA 2>/dev/null; do
	i=$((i + 1)); [ $i -lt 200 ] || fail "the keep-alive clients did not finish"
	sleep 0.1
done
cat "$T/ka.out"
ok=$(sed -n 's/.*ok=\([0-9]*\).*/\1/p' "$T/ka.out")
nf=$(sed -n 's/.*fail=\([0-9]*\).*/\1/p' "$T/ka.out")
nc=$(sed -n 's/.*conns=\([0-9]*\).*/\1/p' "$T/ka.out")
[ -n "$ok" ] && [ "$ok" -gt 2000 ] || fail "too little load to mean anything: $ok"
[ "$nf" = 0 ] || fail "$nf requests failed during the reloads"
# Each drained generation closed its connections with "Connection: close":
# the clients had to reconnect many times.
[ "$nc" -gt 100 ] || fail "only $nc connections: the reloads did not close keep-alive connections"
reloads=$(ctl status --json | sed -n 's/.*"reloads":\([0-9]*\).*/\1/p')
echo "reloads=$reloads requests=$ok connections=$nc"
[ "$reloads" -ge 10 ] || fail "only $reloads reloads took effect"

# 2. wrk, no think time.
wrk -t2 -c32 -d9s "http://127.0.0.1:$FP/" >"$T/wrk.out" 2>&1 &
WRK=$!
PIDS="$PIDS $WRK"
storm
i=0
while kill -0 $WRK 2>/dev/null; do
	i=$((i + 1)); [ $i -lt 200 ] || fail "wrk did not finish"
	sleep 0.1
done
cat "$T/wrk.out"
reqs=$(sed -n 's/^ *\([0-9]*\) requests in .*/\1/p' "$T/wrk.out")
[ -n "$reqs" ] && [ "$reqs" -gt 2000 ] || fail "too little load to mean anything: $reqs"
grep -q 'Socket errors' "$T/wrk.out" && fail "requests failed during the reloads"
grep -q 'Non-2xx' "$T/wrk.out" && fail "non-2xx answers during the reloads"
# Old generations end once their connections got their "close": long
# before the 20 s drain deadline.
i=0
while [ "$(live_gens)" != 1 ]; do
	i=$((i + 1)); [ $i -lt 50 ] || { ctl show generations; fail "old generations still alive 5 s after the load"; }
	sleep 0.1
done
[ "$(proxyd_children)" = 1 ] || fail "not exactly one proxyd process"
# The generations' standard error goes to proxysv's.
grep -q "AddressSanitizer\|LeakSanitizer\|runtime error:" "$T/sv.log" &&
	fail "sanitizer report from a generation"
echo "PASS"
