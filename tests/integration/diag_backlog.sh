#!/bin/sh
# accept_backlog against a listener on 127.0.0.1:21002 (backlog 64) that
# never accepts:
#  1. 10 connected clients -> the accept queue in diagnose's JSON is 10, equal
#     to `ss -ltn` Recv-Q, the backlog equal to its Send-Q; a steady queue
#     far from the backlog is no finding (exit 0); run as nobody, it still
#     sees the queue and says that it could not see the owners;
#  2. 50 more clients while diagnose waits between its snapshots -> queue 60
#     (near the backlog and growing): accept_backlog naming the owner, and
#     the queue still equal to what ss shows.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/diag_lib.sh"
diag_need_root
diag_timebox 60
diag_need_tools
diag_setup
P=21002
A=127.0.0.1:$P

peer_start l -- listen "$A" -b 64
peer_start c1 -- connect "$A" -n 10
diag_run "$DIAG_TMP/1.json" --port $P --interval 200
[ "$diag_rc" = 0 ] || diag_fail "1: exit $diag_rc, wanted 0: $(cat "$DIAG_TMP/1.json")"
j=$(json_lsocks "$DIAG_TMP/1.json")
s=$(ss_lsocks $P)
[ "$j" = "$s" ] || diag_fail "1: diagnose '$j' but ss '$s'"
[ "$(echo "$j" | cut -d' ' -f2-)" = "10 64" ] || diag_fail "1: queue/backlog '$j', wanted 10 64"

# Without privileges: the queue is still seen (sock_diag needs none), the
# owner is not, and the output says how many processes could not be read.
if command -v setpriv >/dev/null 2>&1; then
	rc=0
	setpriv --reuid=65534 --regid=65534 --clear-groups \
		"$PROXYCTL" diagnose --json --port $P --interval 0 >"$DIAG_TMP/np.json" 2>"$DIAG_TMP/np.err" || rc=$?
	[ "$rc" -le 1 ] || { cat "$DIAG_TMP/np.err" >&2; diag_fail "unprivileged: exit $rc"; }
	grep -q '"privileged":false' "$DIAG_TMP/np.json" || diag_fail "unprivileged: privileged not false"
	n=$(json_num "$(cat "$DIAG_TMP/np.json")" processes_not_visible)
	[ "${n:-0}" -gt 0 ] || diag_fail "unprivileged: no process reported as not visible"
	[ "$(json_lsocks "$DIAG_TMP/np.json")" = "$(ss_lsocks $P)" ] || diag_fail "unprivileged: queue differs from ss"
	grep -q '"pids":\[\]' "$DIAG_TMP/np.json" || diag_fail "unprivileged: root's listener shown with its owner"
	setpriv --reuid=65534 --regid=65534 --clear-groups \
		"$PROXYCTL" diagnose --port $P --interval 0 2>&1 | grep -q '^not seen: the sockets of [0-9]* process' ||
		diag_fail "unprivileged: the report does not say what it could not see"
fi

"$PROXYCTL" diagnose --json --port $P --interval 3000 >"$DIAG_TMP/2.json" 2>"$DIAG_TMP/2.err" &
dpid=$!
DIAG_PIDS="$DIAG_PIDS $dpid"
sleep 1
peer_start c2 -- connect "$A" -n 50
rc=0
wait $dpid || rc=$?
diag_forget $dpid
[ "$rc" = 1 ] || { cat "$DIAG_TMP/2.err" >&2; diag_fail "2: exit $rc, wanted 1"; }
j=$(json_lsocks "$DIAG_TMP/2.json")
s=$(ss_lsocks $P)
[ "$j" = "$s" ] || diag_fail "2: diagnose '$j' but ss '$s'"
[ "$(echo "$j" | cut -d' ' -f2-)" = "60 64" ] || diag_fail "2: queue/backlog '$j', wanted 60 64"
[ "$(json_count "$DIAG_TMP/2.json" accept_backlog)" = 1 ] ||
	diag_fail "2: wanted one accept_backlog: $(cat "$DIAG_TMP/2.json")"
f=$(json_findings "$DIAG_TMP/2.json" accept_backlog)
echo "$f" | grep -q "\"pid\":$l_pid," || diag_fail "2: owner $l_pid not named: $f"
[ "$(json_num "$f" queue)" = 60 ] || diag_fail "2: evidence queue: $f"
[ "$(json_num "$f" queue_prev)" = 10 ] || diag_fail "2: evidence queue_prev: $f"
[ "$(json_num "$f" backlog)" = 64 ] || diag_fail "2: evidence backlog: $f"
echo "$f" | grep -q '"listen_overflows_delta":[0-9]' || diag_fail "2: no ListenOverflows delta: $f"
exit 0
