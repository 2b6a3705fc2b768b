#!/bin/sh
# SIGKILL of the active generation: restarted after the backoff, and the
# crash is recorded as a generation_crash incident.
. "$top_srcdir/tests/integration/sv_lib.sh"

FP=23040 BP=23041
start_echo $BP
sv_config "$T/sv.cfg" $FP $BP "tick 200ms"
start_sv "$T/sv.cfg"
g1=$(active_gen)
pid1=$(ctl show generations --json | sed -n 's/.*"pid":\([0-9]*\),"state":"active".*/\1/p')
[ -n "$pid1" ] || fail "no active pid"
kill -9 "$pid1"
t0=$(date +%s%N)
wait_active 5 "$g1" || fail "no new generation within 5 s"
t1=$(date +%s%N)
ms=$(( (t1 - t0) / 1000000 ))
g2=$(active_gen)
echo "generation $g1 (pid $pid1) killed; generation $g2 active after $ms ms"
[ $ms -ge 900 ] || fail "restarted without the 1 s backoff ($ms ms)"
"$LOADCLI" load -p $FP -c 2 -d 1 >"$T/load.out" 2>&1
cat "$T/load.out"
grep -q 'conn_fail=0 reqs=[1-9][0-9]* req_fail=0' "$T/load.out" || fail "not serving after restart"
sleep 0.3
n=$(db "SELECT count(*) FROM incidents WHERE kind = 'generation_crash' AND generation = $g1")
[ "$n" = 1 ] || fail "generation_crash not recorded"
db "SELECT exit_status FROM generations WHERE gen = $g1" | grep -q 'signal 9' ||
	fail "exit status not recorded"
echo "PASS"
exit 0
