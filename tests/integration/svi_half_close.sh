#!/bin/sh
# Incidents 1 and 4: CLOSE_WAIT/FIN_WAIT2 pairs held by the proxy when the
# server half-closes and the client never answers with its FIN, and no
# `timeout client-fin` bounds them. The client lives in a network namespace
# whose traffic is then dropped (iptables), as a client that vanished:
# half_close_buildup opens for the generation, the policy destroys the
# proxy's client-side sockets idle past destroy-idle (SOCK_DESTROY), the
# proxy closes both sockets of each pair, and the incident resolves.
. "$top_srcdir/tests/integration/svi_lib.sh"
SOCKPEER="$top_builddir/tests/integration/sockpeer"
[ -x "$SOCKPEER" ] || { echo "SKIP: sockpeer not built"; exit 77; }
for t in ip iptables ss; do
	command -v $t >/dev/null || { echo "SKIP: $t not installed"; exit 77; }
done

FP=26020 BP=26021 N=20
NS=svi-hc-$$
VETH=svihc$$
ip netns add $NS || { echo "SKIP: cannot create a network namespace"; exit 77; }
cleanup_ns() {
	ip netns pids $NS 2>/dev/null | xargs -r kill -9 2>/dev/null
	ip link del ${VETH}a 2>/dev/null
	ip netns del $NS 2>/dev/null
}
trap 'cleanup_ns; cleanup' EXIT
ip link add ${VETH}a type veth peer name ${VETH}b || fail "veth"
ip link set ${VETH}b netns $NS || fail "veth into the namespace"
ip addr add 10.226.20.1/24 dev ${VETH}a && ip link set ${VETH}a up || fail "veth address"
ip netns exec $NS ip addr add 10.226.20.2/24 dev ${VETH}b || fail "peer address"
ip netns exec $NS ip link set ${VETH}b up && ip netns exec $NS ip link set lo up || fail "peer up"

"$SOCKPEER" serve 127.0.0.1:$BP -f -t 60 >"$T/backend.log" 2>&1 &
PIDS="$PIDS $!"
i=0
until grep -q '^ready' "$T/backend.log"; do
	i=$((i + 1)); [ $i -lt 100 ] || fail "backend did not start"; sleep 0.05
done
svi_config "$T/sv.cfg" $FP -- "server s1 127.0.0.1:$BP" -- \
	"tick 200ms" "destroy-idle 1s" "threshold half-close-min 10"
sed -i "s/bind 127.0.0.1:$FP/bind 10.226.20.1:$FP/" "$T/sv.cfg"
start_sv "$T/sv.cfg"
g=$(active_gen)
gpid=$(gen_pid "$g")
[ -n "$gpid" ] || fail "no pid for generation $g"

ip netns exec $NS "$SOCKPEER" connect 10.226.20.1:$FP -n $N -t 60 >"$T/clients.log" 2>&1 &
PIDS="$PIDS $!"
i=0
until grep -q '^ready' "$T/clients.log"; do
	i=$((i + 1)); [ $i -lt 100 ] || fail "clients did not connect"; sleep 0.05
done
# The client side reaches FIN_WAIT2 once the clients' kernel acknowledged
# the forwarded FIN; then the clients vanish.
pairs() {
	a=$(ss -Htn state fin-wait-2 "( sport = :$FP )" | wc -l)
	b=$(ss -Htn state close-wait "( dport = :$BP )" | wc -l)
	echo "$a $b"
}
i=0
while [ "$(pairs)" != "$N $N" ]; do
	i=$((i + 1)); [ $i -lt 100 ] || fail "pairs: $(pairs), wanted $N $N"; sleep 0.05
done
ip netns exec $NS iptables -A INPUT -j DROP || fail "iptables"
t0=$(now_ms)
id=$(wait_sql 10 "SELECT id FROM incidents WHERE kind = 'half_close_buildup' AND subject = 'pid:$gpid'") ||
	fail "half_close_buildup did not open"
opened=$(db "SELECT opened_ms FROM incidents WHERE id = $id")
echo "incident $id opened $((opened - t0)) ms after the pairs formed"
[ $((opened - t0)) -le 600 ] || fail "not within 3 ticks"
r=$(wait_sql 5 "SELECT result || ' ' || target || ' ' || coalesce(error, '') FROM actions WHERE incident_id = $id AND action = 'destroy' AND result <> 'skipped'") ||
	fail "no destroy action"
echo "destroy: $r"
case "$r" in ok\ pid:$gpid:sockets:$N\ *) ;; *) fail "destroy: $r" ;; esac
i=0
while [ "$(pairs)" != "0 0" ]; do
	i=$((i + 1)); [ $i -lt 50 ] || fail "pairs left after destroy: $(pairs)"; sleep 0.1
done
wait_sql 5 "SELECT resolved_ms FROM incidents WHERE id = $id AND resolved_ms IS NOT NULL" >/dev/null ||
	fail "the incident did not resolve"
check_proxyctl_json half_close_buildup "$id"
echo "PASS"
exit 0
