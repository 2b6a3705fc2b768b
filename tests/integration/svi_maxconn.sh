#!/bin/sh
# maxconn_saturation: a frontend at its maxconn (10 of 10 sessions) refuses
# further clients by leaving them in the accept queue. The incident opens
# within 3 ticks from the frontend's scur/slim on the stats socket, is
# observed, and resolves when the clients leave.
. "$top_srcdir/tests/integration/svi_lib.sh"
SOCKPEER="$top_builddir/tests/integration/sockpeer"
[ -x "$SOCKPEER" ] || { echo "SKIP: sockpeer not built"; exit 77; }

FP=26070 BP=26071
start_echo $BP
svi_config "$T/sv.cfg" $FP -- "server s1 127.0.0.1:$BP" -- "tick 200ms"
sed -i 's/^frontend fe$/frontend fe\n    maxconn 10/' "$T/sv.cfg"
start_sv "$T/sv.cfg"
# 8 of 10 (80 %, below maxconn-pct 90): nothing opens.
"$SOCKPEER" connect 127.0.0.1:$FP -n 8 -t 60 >"$T/c8.log" 2>&1 &
C8=$!
PIDS="$PIDS $C8"
sleep 1.5
[ "$(db "SELECT count(*) FROM incidents WHERE kind = 'maxconn_saturation'")" = 0 ] ||
	fail "maxconn_saturation at 80 %"
"$SOCKPEER" connect 127.0.0.1:$FP -n 4 -t 60 >"$T/c4.log" 2>&1 &
C4=$!
PIDS="$PIDS $C4"
t0=$(now_ms)
id=$(wait_sql 10 "SELECT id FROM incidents WHERE kind = 'maxconn_saturation' AND subject = 'frontend:fe'") ||
	fail "maxconn_saturation did not open"
lag=$(($(db "SELECT opened_ms FROM incidents WHERE id = $id") - t0))
echo "incident $id opened $lag ms after the frontend filled"
[ $lag -le 1000 ] || fail "not within 3 ticks"
ev=$(db "SELECT evidence FROM incidents WHERE id = $id")
echo "evidence: $ev"
echo "$ev" | grep -q '"current":10' && echo "$ev" | grep -q '"maxconn":10' || fail "evidence: $ev"
[ "$(db "SELECT severity FROM incidents WHERE id = $id")" = critical ] || fail "not critical at 100 %"
a=$(wait_sql 3 "SELECT action || ':' || result FROM actions WHERE incident_id = $id") || fail "no action"
[ "$a" = observe:ok ] || fail "action: $a"
kill $C4 $C8
wait_sql 5 "SELECT resolved_ms FROM incidents WHERE id = $id AND resolved_ms IS NOT NULL" >/dev/null ||
	fail "the incident did not resolve"
check_proxyctl_json maxconn_saturation "$id"
echo "PASS"
exit 0
