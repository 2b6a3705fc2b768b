#!/bin/sh
# half_close_buildup with CLOSE_WAIT/FIN_WAIT2 pairs (incidents 1 and 4),
# port 21003: a backend (127.0.0.2:21003) half-closes every connection at
# once; a proxy-like peer (127.0.0.1:21003) accepts 20 clients, connects each
# to the backend and, on the backend's FIN, half-closes the client side and
# closes nothing. The proxy then holds 20 client-side FIN_WAIT2 and 20
# backend-side CLOSE_WAIT. diagnose must report it with those counts, equal
# per state to what `ss -tanp` shows for the proxy, and 20 possible pairs.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/diag_lib.sh"
diag_need_root
diag_timebox 60
diag_need_tools
diag_setup
P=21003
N=20

peer_start backend -- serve 127.0.0.2:$P -f
"$SOCKPEER" proxy 127.0.0.1:$P 127.0.0.2:$P -n $N -t 60 >"$DIAG_TMP/proxy.out" 2>"$DIAG_TMP/proxy.err" &
proxy_pid=$!
DIAG_PIDS="$DIAG_PIDS $proxy_pid"
diag_wait_line "$DIAG_TMP/proxy.out" "^listening pid=$proxy_pid" 10 || diag_fail "proxy not listening"
peer_start clients -- connect 127.0.0.1:$P -n $N
diag_wait_line "$DIAG_TMP/proxy.out" "^ready pid=$proxy_pid pairs=$N" 15 ||
	{ cat "$DIAG_TMP/proxy.err" >&2; diag_fail "proxy did not make $N pairs"; }
# The clients' ACK of the proxy's FIN moves FIN_WAIT1 to FIN_WAIT2; wait
# (bounded) until ss shows every one there.
i=0
while [ "$(ss_pid_state $proxy_pid fin-wait-2)" != $N ]; do
	i=$((i + 1))
	[ $i -gt 100 ] && diag_fail "ss: proxy FIN_WAIT2 never reached $N"
	sleep 0.05
done

diag_run "$DIAG_TMP/d.json" --port $P --interval 200
[ "$diag_rc" = 1 ] || diag_fail "exit $diag_rc, wanted 1"
f=$(json_findings "$DIAG_TMP/d.json" half_close_buildup | grep "\"subject\":\"pid:$proxy_pid\"")
[ -n "$f" ] || diag_fail "no half_close_buildup for the proxy $proxy_pid: $(cat "$DIAG_TMP/d.json")"
# The first "STATE":{"count":N} of the evidence is the process total.
for st in CLOSE_WAIT:close-wait FIN_WAIT2:fin-wait-2 FIN_WAIT1:fin-wait-1 LAST_ACK:last-ack CLOSING:closing; do
	key=${st%%:*}
	ssname=${st#*:}
	d=$(printf '%s\n' "$f" | grep -o "\"$key\":{\"count\":[0-9]*" | head -n 1 | grep -o '[0-9]*$')
	s=$(ss_pid_state $proxy_pid "$ssname")
	[ "$d" = "$s" ] || diag_fail "$key: diagnose ${d:-none}, ss $s"
done
[ "$(ss_pid_state $proxy_pid close-wait)" = $N ] || diag_fail "ss: proxy CLOSE_WAIT is not $N"
[ "$(json_num "$f" possible_pairs)" = $N ] || diag_fail "possible_pairs: $f"
[ "$(json_num "$f" half_closed)" = $((2 * N)) ] || diag_fail "half_closed: $f"
echo "$f" | grep -q '"severity":"critical"' || diag_fail "$N pairs should be critical: $f"
# The other ends, each in its own process: the backend's FIN_WAIT2 (on the
# port) and the clients' CLOSE_WAIT (on ephemeral local ports, which --port
# does not select: asked for with --pid), also as ss counts them.
diag_run "$DIAG_TMP/c.json" --pid "$clients_pid" --interval 0
[ "$diag_rc" = 1 ] || diag_fail "--pid $clients_pid: exit $diag_rc, wanted 1"
for who in clients:CLOSE_WAIT:close-wait:c backend:FIN_WAIT2:fin-wait-2:d; do
	name=${who%%:*}
	rest=${who#*:}
	key=${rest%%:*}
	rest=${rest#*:}
	ssname=${rest%%:*}
	out=${rest#*:}
	eval "pid=\$${name}_pid"
	g=$(json_findings "$DIAG_TMP/$out.json" half_close_buildup | grep "\"subject\":\"pid:$pid\"")
	d=$(printf '%s\n' "$g" | grep -o "\"$key\":{\"count\":[0-9]*" | head -n 1 | grep -o '[0-9]*$')
	s=$(ss_pid_state "$pid" "$ssname")
	[ "$s" = $N ] || diag_fail "ss: $name $key $s, wanted $N"
	[ "$d" = "$s" ] || diag_fail "$name $key: diagnose ${d:-none}, ss $s"
done
exit 0
