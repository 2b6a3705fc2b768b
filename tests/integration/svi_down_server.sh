#!/bin/sh
# Incident 2: a tunnel to a server that goes DOWN stays open unless someone
# shuts its sessions down. The server (holdback) stops accepting, its health
# check fails, the established session lives on: session_on_down_server
# opens, the policy's shutdown-sessions cuts the session through the stats
# socket, the incident resolves, and proxyctl returns it.
. "$top_srcdir/tests/integration/svi_lib.sh"
HOLDBACK="$top_builddir/tests/integration/holdback"
[ -x "$HOLDBACK" ] || { echo "SKIP: holdback not built"; exit 77; }

FP=26010 BP=26011
"$HOLDBACK" -p $BP -R "$T/hb.ready" >"$T/hb.log" 2>&1 &
HB=$!
PIDS="$PIDS $HB"
i=0
while [ ! -f "$T/hb.ready" ]; do
	i=$((i + 1)); [ $i -lt 100 ] || fail "holdback did not start"; sleep 0.05
done
svi_config "$T/sv.cfg" $FP -- \
	"server s1 127.0.0.1:$BP check inter 200ms fall 1 rise 1" -- \
	"tick 200ms" "threshold down-grace 1s"
start_sv "$T/sv.cfg"

"$LOADCLI" hold -p $FP -i 100 -t 30 >"$T/hold.out" 2>&1 &
HOLD=$!
PIDS="$PIDS $HOLD"
sleep 0.5
kill -0 $HOLD 2>/dev/null || fail "the tunnel did not open"
kill -USR1 $HB
t_down=$(now_ms)
# DOWN after one failed check (<= 200 ms), then the 1 s grace, then K = 2
# ticks of 200 ms: opened within 3 ticks of the grace's end.
id=$(wait_sql 10 "SELECT id FROM incidents WHERE kind = 'session_on_down_server' AND subject = 'server:be/s1'") ||
	fail "session_on_down_server did not open"
opened=$(db "SELECT opened_ms FROM incidents WHERE id = $id")
lag=$((opened - t_down))
echo "incident $id opened ${lag} ms after the server stopped accepting"
[ $lag -le $((200 + 1000 + 1000 + 3 * 200)) ] || fail "opened late: $lag ms"
db "SELECT evidence FROM incidents WHERE id = $id" | grep -q '"sessions_total":1' ||
	fail "evidence: $(db "SELECT evidence FROM incidents WHERE id = $id")"
a=$(wait_sql 5 "SELECT result FROM actions WHERE incident_id = $id AND action = 'shutdown-sessions'") ||
	fail "no shutdown-sessions action"
[ "$a" = ok ] || fail "shutdown-sessions: $a $(db "SELECT error FROM actions WHERE incident_id = $id")"
i=0
while kill -0 $HOLD 2>/dev/null; do
	i=$((i + 1)); [ $i -lt 50 ] || fail "the session outlived shutdown-sessions"; sleep 0.1
done
grep -q 'cut=1' "$T/hold.out" || fail "the tunnel was not cut: $(cat "$T/hold.out")"
wait_sql 5 "SELECT resolved_ms FROM incidents WHERE id = $id AND resolved_ms IS NOT NULL" >/dev/null ||
	fail "the incident did not resolve"
check_proxyctl_json session_on_down_server "$id"
echo "PASS"
exit 0
