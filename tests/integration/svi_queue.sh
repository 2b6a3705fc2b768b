#!/bin/sh
# Incident 3: a server throttled by its dynamic limit. minconn 2, maxconn 20
# and fullconn 100: while the backend has far fewer than 100 sessions the
# server's effective maxconn is max(2, 20 * sessions / 100) = 2, and the
# other sessions wait in its queue. server_queue_starvation opens within 3
# ticks with qcur, scur, the effective and the configured limits in its
# evidence (read from proxyd's stats socket); the clients leave, the queue
# empties and the incident resolves.
. "$top_srcdir/tests/integration/svi_lib.sh"
SOCKPEER="$top_builddir/tests/integration/sockpeer"
[ -x "$SOCKPEER" ] || { echo "SKIP: sockpeer not built"; exit 77; }

FP=26060 BP=26061 N=10
start_echo $BP
svi_config "$T/sv.cfg" $FP -- "fullconn 100" "timeout queue 60s" \
	"server s1 127.0.0.1:$BP minconn 2 maxconn 20" -- "tick 200ms"
start_sv "$T/sv.cfg"
"$SOCKPEER" connect 127.0.0.1:$FP -n $N -t 60 >"$T/clients.log" 2>&1 &
CLI=$!
PIDS="$PIDS $CLI"
t0=$(now_ms)
id=$(wait_sql 10 "SELECT id FROM incidents WHERE kind = 'server_queue_starvation' AND subject = 'server:be/s1'") ||
	fail "server_queue_starvation did not open"
lag=$(($(db "SELECT opened_ms FROM incidents WHERE id = $id") - t0))
echo "incident $id opened $lag ms after the clients came"
[ $lag -le 1000 ] || fail "not within 3 ticks"
ev=$(db "SELECT evidence FROM incidents WHERE id = $id")
echo "evidence: $ev"
for kv in '"queued":8' '"backend_qcur":8' '"scur":2' '"eff_maxconn":2' '"maxconn":20' '"minconn":2' '"fullconn":100' \
	'"eff_maxconn_source":"reported"'; do
	echo "$ev" | grep -q "$kv" || fail "evidence lacks $kv"
done
a=$(wait_sql 3 "SELECT action || ':' || result FROM actions WHERE incident_id = $id") || fail "no action recorded"
[ "$a" = observe:ok ] || fail "action: $a"
# The watch line carries it among the open incidents, and the server.
ctl status --json >"$T/status.json"
grep -q '"kind":"server_queue_starvation"' "$T/status.json" || fail "not in status --json incidents"
grep -q '"backend":"be","server":"s1"' "$T/status.json" || fail "no servers in status --json"
kill $CLI
wait_sql 5 "SELECT resolved_ms FROM incidents WHERE id = $id AND resolved_ms IS NOT NULL" >/dev/null ||
	fail "the incident did not resolve"
check_proxyctl_json server_queue_starvation "$id"
echo "PASS"
exit 0
