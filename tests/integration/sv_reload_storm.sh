#!/bin/sh
# 100 reloads at 10 per second under continuous load on loopback: no failed
# connection, no failed request, and exactly one live generation once the
# drain deadline has passed. The listening socket is the same one throughout.
. "$top_srcdir/tests/integration/sv_lib.sh"

FP=23010 BP=23011
start_echo $BP
sv_config "$T/sv.cfg" $FP $BP "drain-timeout 2s" "kill-grace 1s" "max-generations 0" \
	"tick 200ms"
start_sv "$T/sv.cfg"
sleep 0.5  # one tick: the listener's inode comes from the probes
ino0=$(ctl show listeners --json | sed -n 's/.*"ino":\([0-9]*\).*/\1/p')

"$LOADCLI" load -p $FP -c 32 -r 2 -S "$T/stop" >"$T/load.out" 2>"$T/load.log" &
LOAD=$!
PIDS="$PIDS $LOAD"
sleep 1
i=0
# Half by SIGHUP, half by the control socket (each request answered).
while [ $i -lt 100 ]; do
	if [ $((i % 2)) = 0 ]; then
		kill -HUP "$SV_PID" || fail "proxysv is gone"
	else
		ctl reload >"$T/reload.$i" 2>&1 &
	fi
	sleep 0.1
	i=$((i + 1))
done
# Let the last reload finish under load.
wait_active 10 || fail "no active generation after the storm"
sleep 1
touch "$T/stop"
i=0
while kill -0 $LOAD 2>/dev/null; do
	i=$((i + 1)); [ $i -lt 100 ] || fail "load client did not stop"
	sleep 0.1
done
cat "$T/load.out"
conns=$(sed -n 's/.*conns=\([0-9]*\).*/\1/p' "$T/load.out")
cf=$(sed -n 's/.*conn_fail=\([0-9]*\).*/\1/p' "$T/load.out")
rf=$(sed -n 's/.*req_fail=\([0-9]*\).*/\1/p' "$T/load.out")
[ -n "$conns" ] && [ "$conns" -gt 1000 ] || fail "too little load to mean anything: $conns"
[ "$cf" = 0 ] || fail "$cf failed connections"
[ "$rf" = 0 ] || fail "$rf failed requests"

ok=$(cat "$T"/reload.* | grep -c '^ok gen=')
[ "$ok" = 50 ] || { cat "$T"/reload.*; fail "$ok of 50 control reloads answered ok"; }
reloads=$(ctl status --json | sed -n 's/.*"reloads":\([0-9]*\).*/\1/p')
failed=$(ctl status --json | sed -n 's/.*"reloads_failed":\([0-9]*\).*/\1/p')
echo "reloads=$reloads reloads_failed=$failed"
[ "$failed" = 0 ] || fail "$failed reloads failed"
# Requests that came while one was starting are coalesced, never lost.
[ "$reloads" -ge 20 ] || fail "only $reloads reloads took effect"

# Past the drain deadline (2 s) and the kill grace (1 s): one generation.
sleep 3.5
[ "$(live_gens)" = 1 ] || { ctl show generations; fail "not exactly one live generation"; }
[ "$(proxyd_children)" = 1 ] || fail "not exactly one proxyd process"
ino1=$(ctl show listeners --json | sed -n 's/.*"ino":\([0-9]*\).*/\1/p')
[ -n "$ino0" ] && [ "$ino0" = "$ino1" ] || fail "listening socket changed: $ino0 -> $ino1"
# Recorded: every generation started, the old ones exited.
n=$(db "SELECT count(*) FROM generations WHERE exit_ms IS NOT NULL")
[ "$n" -ge "$reloads" ] || fail "only $n exited generations recorded"
echo "PASS: $reloads reloads, $conns connections, 0 failures, 1 generation left"
exit 0
