#!/bin/sh
# Incident 5: a stuck process bound to the same address and port with
# SO_REUSEPORT takes its share of new connections and never accepts them.
# proxysv's own listeners are not SO_REUSEPORT (a foreign bind on them
# fails), so the duplicate is made where proxysv also probes: the backend's
# port. A serving backend and a second, never-accepting, SIGSTOPped
# listener share 127.0.0.1:BP; clients through proxyd queue on the stuck
# one. duplicate_listener opens (critical, naming the stuck pid); with
# act-on-foreign the policy kills it (SIGTERM, kill-grace, SIGKILL through a
# pidfd); the incident resolves.
. "$top_srcdir/tests/integration/svi_lib.sh"
SOCKPEER="$top_builddir/tests/integration/sockpeer"
[ -x "$SOCKPEER" ] || { echo "SKIP: sockpeer not built"; exit 77; }

FP=26030 BP=26031
"$SOCKPEER" serve 127.0.0.1:$BP -r -t 60 >"$T/good.log" 2>&1 &
PIDS="$PIDS $!"
i=0
until grep -q '^ready' "$T/good.log"; do
	i=$((i + 1)); [ $i -lt 100 ] || fail "backend did not start"; sleep 0.05
done
# Started apart: not one sibling set started together (group window 2 s).
sleep 2.5
"$SOCKPEER" listen 127.0.0.1:$BP -r -t 60 >"$T/stuck.log" 2>&1 &
STUCK=$!
PIDS="$PIDS $STUCK"
i=0
until grep -q '^ready' "$T/stuck.log"; do
	i=$((i + 1)); [ $i -lt 100 ] || fail "stuck listener did not start"; sleep 0.05
done
kill -STOP $STUCK
svi_config "$T/sv.cfg" $FP -- "server s1 127.0.0.1:$BP" -- \
	"tick 200ms" "kill-grace 500ms" "act-on-foreign on"
start_sv "$T/sv.cfg"
"$SOCKPEER" connect 127.0.0.1:$FP -n 40 -t 60 >"$T/clients.log" 2>&1 &
PIDS="$PIDS $!"
t0=$(now_ms)
id=$(wait_sql 10 "SELECT id FROM incidents WHERE kind = 'duplicate_listener' AND subject = 'tcp:127.0.0.1:$BP' AND severity = 'critical'") ||
	fail "duplicate_listener (critical) did not open: $(db "SELECT kind, severity, subject FROM incidents")"
opened=$(db "SELECT opened_ms FROM incidents WHERE id = $id")
echo "incident $id opened $((opened - t0)) ms after the clients came"
[ $((opened - t0)) -le 1000 ] || fail "not within 3 ticks"
[ "$(db "SELECT pid FROM incidents WHERE id = $id")" = $STUCK ] || fail "the incident does not name the stuck pid $STUCK"
r=$(wait_sql 5 "SELECT group_concat(result || ':' || coalesce(error, ''), ' / ') FROM actions WHERE incident_id = $id AND action = 'kill' AND target = 'pid:$STUCK'") ||
	fail "no kill action for $STUCK"
echo "kill: $r"
i=0
while kill -0 $STUCK 2>/dev/null && [ "$(cat /proc/$STUCK/stat 2>/dev/null | cut -d' ' -f3)" != Z ]; do
	i=$((i + 1)); [ $i -lt 50 ] || fail "the stuck listener survived"; sleep 0.1
done
n=$(wait_sql 5 "SELECT count(*) FROM actions WHERE action = 'kill' AND target = 'pid:$STUCK' AND error LIKE 'SIGKILL%'") ||
	fail "no SIGKILL after the grace (a stopped process ignores SIGTERM)"
wait_sql 5 "SELECT resolved_ms FROM incidents WHERE id = $id AND resolved_ms IS NOT NULL" >/dev/null ||
	fail "the incident did not resolve"
check_proxyctl_json duplicate_listener "$id"
echo "PASS"
exit 0
