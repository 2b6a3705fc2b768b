#!/bin/sh
# A kill -9 of proxysv loses no committed incident, and the restarted
# supervisor takes over the ones left open: an incident whose cause is gone
# (the queue of the throttled server emptied with the generation that held
# it) is resolved after its re-check; one whose cause remains (a lint
# warning of the same configuration) stays open under the same id, updated,
# not opened twice.
. "$top_srcdir/tests/integration/svi_lib.sh"
SOCKPEER="$top_builddir/tests/integration/sockpeer"
[ -x "$SOCKPEER" ] || { echo "SKIP: sockpeer not built"; exit 77; }

FP=26100 BP=26101 N=10
start_echo $BP
svi_config "$T/sv.cfg" $FP -- "fullconn 100" "timeout queue 60s" \
	"server s1 127.0.0.1:$BP minconn 2 maxconn 20" -- "tick 200ms"
start_sv "$T/sv.cfg"
"$SOCKPEER" connect 127.0.0.1:$FP -n $N -t 60 >"$T/clients.log" 2>&1 &
CLI=$!
PIDS="$PIDS $CLI"
qid=$(wait_sql 10 "SELECT id FROM incidents WHERE kind = 'server_queue_starvation' AND resolved_ms IS NULL") ||
	fail "server_queue_starvation did not open"
lint=$(db "SELECT group_concat(id) FROM incidents WHERE kind = 'config_lint' AND resolved_ms IS NULL")
[ -n "$lint" ] || fail "no open config_lint incident (timeout client-fin is not set)"
gpid=$(gen_pid "$(active_gen)")
kill -9 "$SV_PID"
t_kill=$(now_ms)
i=0
while kill -0 "$gpid" 2>/dev/null; do
	i=$((i + 1)); [ $i -lt 100 ] || fail "the generation outlived its supervisor"; sleep 0.1
done
kill $CLI 2>/dev/null
[ "$(db "SELECT count(*) FROM incidents WHERE id = $qid AND resolved_ms IS NULL")" = 1 ] ||
	fail "incident $qid lost or closed by the kill"
start_sv "$T/sv.cfg"
grep -q 'event=incidents_reloaded open=' "$T/sv.log" || fail "open incidents not reloaded"
# M = 3 clean ticks of 200 ms after the restart.
r=$(wait_sql 5 "SELECT resolved_ms FROM incidents WHERE id = $qid AND resolved_ms IS NOT NULL") ||
	fail "incident $qid not resolved after the restart"
[ "$r" -gt "$t_kill" ] || fail "resolved before the restart"
sleep 0.6
now=$(db "SELECT group_concat(id) FROM incidents WHERE kind = 'config_lint' AND resolved_ms IS NULL")
[ "$now" = "$lint" ] || fail "config_lint incidents were $lint, now $now"
u=$(db "SELECT min(updated_ms) FROM incidents WHERE kind = 'config_lint' AND resolved_ms IS NULL")
[ "$u" -gt "$t_kill" ] || fail "config_lint incidents not updated after the restart"
[ "$(db "SELECT count(*) FROM incidents WHERE kind = 'config_lint'")" = "$(echo "$lint" | tr ',' '\n' | wc -l)" ] ||
	fail "config_lint opened twice"
check_proxyctl_json server_queue_starvation "$qid"
echo "PASS"
exit 0
