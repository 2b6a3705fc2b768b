#!/bin/sh
# The duplicate scenario of diag_duplicate.sh inside a network namespace the
# test creates (pt-diag-PID), port 21006: seen with --netns NAME, with
# --netns /proc/PID/ns/net and with --pid; not seen by the host's diagnose;
# --pid of processes in two namespaces is an error (exit 2, one line).
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/diag_lib.sh"
diag_need_root
diag_timebox 60
diag_need_tools
command -v ip >/dev/null 2>&1 || diag_skip "ip (iproute2) not installed"
diag_setup
P=21006
A=127.0.0.1:$P
NS=pt-diag-$$

ip netns add "$NS" || diag_skip "cannot create a network namespace"
DIAG_EXTRA_CLEANUP='ip netns delete "$NS" 2>/dev/null'
ip -n "$NS" link set lo up || diag_fail "lo up"

peer_start a ip netns exec "$NS" -- serve "$A" -r
sleep 2.2
peer_start b ip netns exec "$NS" -- listen "$A" -r
[ "$(ip netns exec "$NS" ss -Hltn "sport = :$P" 2>/dev/null | grep -c .)" = 2 ] || diag_fail "ss in $NS: not 2 listeners"

check_dup() {
	label=$1
	shift
	diag_run "$DIAG_TMP/$label.json" --port $P --interval 200 "$@"
	[ "$diag_rc" = 1 ] || diag_fail "$label: exit $diag_rc, wanted 1"
	f=$(json_findings "$DIAG_TMP/$label.json" duplicate_listener)
	echo "$f" | grep -q "\"subject\":\"tcp:127.0.0.1:$P\"" || diag_fail "$label: no duplicate: $(cat "$DIAG_TMP/$label.json")"
	echo "$f" | grep -q "\"pid\":$a_pid," || diag_fail "$label: pid $a_pid missing: $f"
	echo "$f" | grep -q "\"pid\":$b_pid," || diag_fail "$label: pid $b_pid missing: $f"
	ino=$(stat -L -c %i "/run/netns/$NS")
	grep -q "\"netns_ino\":$ino," "$DIAG_TMP/$label.json" || diag_fail "$label: netns_ino is not $ino"
	j=$(json_lsocks "$DIAG_TMP/$label.json")
	s=$(ip netns exec "$NS" ss -Hltne "sport = :$P" 2>/dev/null |
		awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^ino:/) ino = substr($i, 5); print ino, $2, $3 }' | sort)
	[ "$j" = "$s" ] || diag_fail "$label: listeners '$j', ss in $NS '$s'"
}
check_dup byname --netns "$NS"
check_dup bypath --netns "/proc/$a_pid/ns/net"
check_dup bypid --pid "$a_pid"
check_dup bypids --pid "$b_pid" --pid "$a_pid"

# The host's namespace has no listener on the port.
diag_run "$DIAG_TMP/host.json" --port $P --interval 0
[ "$(json_count "$DIAG_TMP/host.json" duplicate_listener)" = 0 ] || diag_fail "host: sees the namespace's listeners"
grep -q '"listeners":\[\]' "$DIAG_TMP/host.json" || diag_fail "host: listeners on $P: $(cat "$DIAG_TMP/host.json")"

# Processes of two namespaces: refused.
rc=0
"$PROXYCTL" diagnose --pid "$a_pid" --pid $$ >"$DIAG_TMP/err.out" 2>"$DIAG_TMP/err.err" || rc=$?
[ "$rc" = 2 ] || diag_fail "two namespaces: exit $rc, wanted 2"
[ "$(wc -l <"$DIAG_TMP/err.err")" = 1 ] && grep -q -- '--pid' "$DIAG_TMP/err.err" ||
	diag_fail "two namespaces: error: $(cat "$DIAG_TMP/err.err")"
# --netns and a --pid from elsewhere: refused too.
rc=0
"$PROXYCTL" diagnose --netns "$NS" --pid $$ >/dev/null 2>"$DIAG_TMP/err.err" || rc=$?
[ "$rc" = 2 ] || diag_fail "--netns with a foreign --pid: exit $rc, wanted 2"
exit 0
