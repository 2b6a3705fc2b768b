#!/bin/sh
# A long-lived session held across a reload. Two generations left behind:
#  - one holding only an idle session: with `stale-kill idle` the policy
#    ends it before its drain deadline (stale_generation opens within 3
#    ticks of the session being idle, the kill is recorded with its reason,
#    the incident resolves once it exited);
#  - one holding an active session (a request every 100 ms): kept until its
#    drain deadline, then cut by the supervisor; the cut is a
#    stale_generation incident with the kill, resolved at its exit.
. "$top_srcdir/tests/integration/svi_lib.sh"
SOCKPEER="$top_builddir/tests/integration/sockpeer"
[ -x "$SOCKPEER" ] || { echo "SKIP: sockpeer not built"; exit 77; }

FP=26050 BP=26051
start_echo $BP
svi_config "$T/sv.cfg" $FP -- "server s1 127.0.0.1:$BP" -- \
	"tick 200ms" "drain-timeout 4s" "kill-grace 1s" "stale-kill idle" "stale-idle 1s"
start_sv "$T/sv.cfg"

# Phase 1: an idle session (connected, never sending).
g1=$(active_gen)
p1=$(gen_pid "$g1")
"$SOCKPEER" connect 127.0.0.1:$FP -n 1 -t 60 >"$T/idle.log" 2>&1 &
PIDS="$PIDS $!"
i=0
until grep -q '^ready' "$T/idle.log"; do
	i=$((i + 1)); [ $i -lt 100 ] || fail "idle client did not connect"; sleep 0.05
done
ctl reload | grep -q '^ok gen=' || fail "first reload"
t0=$(now_ms)
id1=$(wait_sql 10 "SELECT id FROM incidents WHERE kind = 'stale_generation' AND subject = 'pid:$p1'") ||
	fail "stale_generation did not open for the idle generation $g1"
lag=$(($(db "SELECT opened_ms FROM incidents WHERE id = $id1") - t0))
echo "idle generation: incident $id1 opened $lag ms after the reload"
# The session is idle 1 s (stale-idle) after the reload at the latest,
# then K = 2 ticks; well before the 4 s deadline.
[ $lag -le $((1000 + 3 * 200 + 400)) ] || fail "not within 3 ticks of the reason holding"
r=$(wait_sql 5 "SELECT result || ' ' || coalesce(error, '') FROM actions WHERE incident_id = $id1 AND action = 'kill'") ||
	fail "no kill for the idle generation"
echo "kill: $r"
echo "$r" | grep -q '^ok .*reason: holds only idle or half-closed sessions' || fail "kill: $r"
wait_sql 5 "SELECT resolved_ms FROM incidents WHERE id = $id1 AND resolved_ms IS NOT NULL" >/dev/null ||
	fail "the idle generation's incident did not resolve"
[ $(($(now_ms) - t0)) -lt 4000 ] || fail "not ended before its deadline"
st=$(db "SELECT exit_status FROM generations WHERE gen = $g1")
echo "generation $g1: $st"

# Phase 2: an active session held past the deadline.
g2=$(active_gen)
p2=$(gen_pid "$g2")
"$LOADCLI" hold -p $FP -i 100 -t 30 >"$T/hold.out" 2>&1 &
HOLD=$!
PIDS="$PIDS $HOLD"
sleep 0.5
ctl reload | grep -q '^ok gen=' || fail "second reload"
t1=$(now_ms)
sleep 2
[ "$(db "SELECT count(*) FROM incidents WHERE kind = 'stale_generation' AND subject = 'pid:$p2'")" = 0 ] ||
	fail "a generation with an active session was judged stale before its deadline"
id2=$(wait_sql 6 "SELECT id FROM incidents WHERE kind = 'stale_generation' AND subject = 'pid:$p2'") ||
	fail "stale_generation did not open at the deadline of generation $g2"
lag=$(($(db "SELECT opened_ms FROM incidents WHERE id = $id2") - t1))
echo "active generation: incident $id2 opened $lag ms after the reload (deadline 4000)"
[ $lag -ge 3500 ] && [ $lag -le 4800 ] || fail "opened at $lag ms"
db "SELECT action || ' ' || result || ' ' || coalesce(error, '') FROM actions WHERE incident_id = $id2" | grep -q '^kill ok' ||
	fail "no kill tied to incident $id2"
wait_sql 5 "SELECT resolved_ms FROM incidents WHERE id = $id2 AND resolved_ms IS NOT NULL" >/dev/null ||
	fail "the cut generation's incident did not resolve"
grep -q 'cut=1' "$T/hold.out" || { sleep 1; grep -q 'cut=1' "$T/hold.out"; } || fail "the session was not cut"
check_proxyctl_json stale_generation "$id1"
check_proxyctl_json stale_generation "$id2"
echo "PASS"
exit 0
