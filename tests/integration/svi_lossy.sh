#!/bin/sh
# lossy_peer: the proxy's segments to its clients stop being acknowledged
# (an iptables DROP where they arrive: dropped on output, the kernel would
# count them as not sent, and would not retransmit), so its sockets to that
# peer retransmit with a growing RTO. The whole setup runs in a network
# namespace of its own (proxysv, proxyd, backend, clients, the rule), so
# nothing outside it is touched. lossy_peer opens for the clients' address
# with the tcp_info figures in its evidence, is observed, and resolves once
# the rule is gone and the retransmissions are acknowledged.
. "$top_srcdir/tests/integration/svi_lib.sh"
TCPBACK="$top_builddir/tests/integration/tcpback"
TCPCLI="$top_builddir/tests/integration/tcpcli"
for b in "$TCPBACK" "$TCPCLI"; do
	[ -x "$b" ] || { echo "SKIP: $b not built"; exit 77; }
done
for t in ip iptables; do
	command -v $t >/dev/null || { echo "SKIP: $t not installed"; exit 77; }
done

FP=26080 BP=26081 N=3
NS=svi-lossy-$$
ip netns add $NS || { echo "SKIP: cannot create a network namespace"; exit 77; }
cleanup_ns() {
	ip netns pids $NS 2>/dev/null | xargs -r kill -9 2>/dev/null
	ip netns del $NS 2>/dev/null
}
trap 'cleanup; cleanup_ns' EXIT
nsx() { ip netns exec $NS "$@"; }
nsx ip link set lo up || fail "lo up"

nsx "$TCPBACK" -p $BP -m source -n 1000000000 -R "$T/back.ready" >"$T/back.log" 2>&1 &
PIDS="$PIDS $!"
i=0
while [ ! -f "$T/back.ready" ]; do
	i=$((i + 1)); [ $i -lt 100 ] || fail "backend did not start"; sleep 0.05
done
svi_config "$T/sv.cfg" $FP -- "server s1 127.0.0.1:$BP" -- "tick 200ms"
nsx "$PROXYSV" -f "$T/sv.cfg" --db "$T/run/incidents.db" >"$T/sv.log" 2>&1 &
SV_PID=$!
PIDS="$PIDS $SV_PID"
wait_active 10 || fail "no active generation after 10 s"

# Clients reading slowly: the proxy always has data in flight to them.
k=0
while [ $k -lt $N ]; do
	nsx "$TCPCLI" -m source -p $FP -n 1000000000 -r 200 -t 60000 >"$T/cli.$k.log" 2>&1 &
	PIDS="$PIDS $!"
	k=$((k + 1))
done
sleep 1
nsx iptables -A INPUT -p tcp --sport $FP -j DROP || fail "iptables"
t0=$(now_ms)
id=$(wait_sql 15 "SELECT id FROM incidents WHERE kind = 'lossy_peer' AND subject = 'peer:127.0.0.1'") ||
	fail "lossy_peer did not open"
lag=$(($(db "SELECT opened_ms FROM incidents WHERE id = $id") - t0))
ev=$(db "SELECT evidence FROM incidents WHERE id = $id")
echo "incident $id opened $lag ms after the drop; evidence: $ev"
# Three consecutive RTOs (200 + 400 + 800 ms at least), then K = 2 ticks.
[ $lag -le $((1400 + 1600 + 3 * 200)) ] || fail "opened late"
n=$(echo "$ev" | grep -o '"lossy_sockets":[0-9]*' | grep -o '[0-9]*$')
[ "${n:-0}" -ge $N ] || fail "lossy sockets: ${n:-none}"
echo "$ev" | grep -q '"max_retransmits":[3-9]' || echo "$ev" | grep -q '"max_retransmits":[1-9][0-9]' ||
	fail "max_retransmits below 3"
a=$(wait_sql 3 "SELECT action || ':' || result FROM actions WHERE incident_id = $id") || fail "no action"
[ "$a" = observe:ok ] || fail "action: $a"
nsx iptables -D INPUT -p tcp --sport $FP -j DROP || fail "iptables -D"
wait_sql 20 "SELECT resolved_ms FROM incidents WHERE id = $id AND resolved_ms IS NOT NULL" >/dev/null ||
	fail "the incident did not resolve"
check_proxyctl_json lossy_peer "$id"
echo "PASS"
exit 0
