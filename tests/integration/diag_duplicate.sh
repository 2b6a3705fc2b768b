#!/bin/sh
# duplicate_listener against real SO_REUSEPORT listeners on 127.0.0.1:21001:
#  1. two processes started separately (more than the 2 s group window apart)
#     -> one duplicate_listener naming both pids, exit status 1;
#  2. one process with two SO_REUSEPORT sockets -> no duplicate;
#  3. two separately started accepting processes, one stopped (SIGSTOP), and
#     clients connecting meanwhile -> the stopped owner's queue grows and the
#     duplicate is critical, naming it (incident 5).
# Queues and backlogs are compared with `ss -ltne`.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/diag_lib.sh"
diag_need_root
diag_timebox 90
diag_need_tools
diag_setup
P=21001
A=127.0.0.1:$P

# 1. Two separately started processes.
peer_start a -- serve "$A" -r
sleep 2.2
peer_start b -- listen "$A" -r
diag_run "$DIAG_TMP/1.json" --port $P --interval 200
[ "$diag_rc" = 1 ] || diag_fail "1: exit $diag_rc, wanted 1"
[ "$(json_count "$DIAG_TMP/1.json" duplicate_listener)" = 1 ] ||
	diag_fail "1: wanted one duplicate_listener: $(cat "$DIAG_TMP/1.json")"
f=$(json_findings "$DIAG_TMP/1.json" duplicate_listener)
echo "$f" | grep -q "\"subject\":\"tcp:127.0.0.1:$P\"" || diag_fail "1: subject: $f"
echo "$f" | grep -q "\"pid\":$a_pid," || diag_fail "1: pid $a_pid missing: $f"
echo "$f" | grep -q "\"pid\":$b_pid," || diag_fail "1: pid $b_pid missing: $f"
[ "$(json_num "$f" groups)" = 2 ] || diag_fail "1: groups: $f"
[ "$(json_lsocks "$DIAG_TMP/1.json")" = "$(ss_lsocks $P)" ] ||
	diag_fail "1: listeners differ from ss: $(json_lsocks "$DIAG_TMP/1.json") / $(ss_lsocks $P)"
[ "$(ss_lsocks $P | grep -c .)" = 2 ] || diag_fail "1: ss does not show 2 listening sockets"
# The allow-list silences it.
diag_run "$DIAG_TMP/1a.json" --port $P --interval 0 --allow ":$P"
[ "$(json_count "$DIAG_TMP/1a.json" duplicate_listener)" = 0 ] || diag_fail "1: --allow :$P ignored"
peer_stop "$a_pid"
peer_stop "$b_pid"

# 2. One process, two SO_REUSEPORT sockets: a group, not a duplicate.
peer_start c -- listen "$A" -r -n 2
diag_run "$DIAG_TMP/2.json" --port $P --interval 200
[ "$(json_count "$DIAG_TMP/2.json" duplicate_listener)" = 0 ] ||
	diag_fail "2: one process reported as duplicate: $(cat "$DIAG_TMP/2.json")"
[ "$(ss_lsocks $P | grep -c .)" = 2 ] || diag_fail "2: ss does not show 2 listening sockets"
[ "$(json_lsocks "$DIAG_TMP/2.json")" = "$(ss_lsocks $P)" ] || diag_fail "2: listeners differ from ss"
sed 's/"findings":.*//' "$DIAG_TMP/2.json" | grep -q "\"pids\":\[$c_pid\]}.*\"pids\":\[$c_pid\]}" ||
	diag_fail "2: both sockets should be owned by $c_pid"
peer_stop "$c_pid"

# 3. Incident 5: one of two owners stopped while clients arrive.
peer_start d -- serve "$A" -r
sleep 2.2
peer_start e -- serve "$A" -r
kill -STOP "$e_pid"
"$PROXYCTL" diagnose --json --port $P --interval 3000 >"$DIAG_TMP/3.json" 2>"$DIAG_TMP/3.err" &
dpid=$!
DIAG_PIDS="$DIAG_PIDS $dpid"
sleep 1
peer_start f -- connect "$A" -n 40
rc=0
wait $dpid || rc=$?
diag_forget $dpid
[ "$rc" = 1 ] || { cat "$DIAG_TMP/3.err" >&2; diag_fail "3: exit $rc, wanted 1"; }
f=$(json_findings "$DIAG_TMP/3.json" duplicate_listener)
echo "$f" | grep -q "\"severity\":\"critical\",\"subject\":\"tcp:127.0.0.1:$P\",\"pid\":$e_pid," ||
	diag_fail "3: wanted a critical duplicate naming stopped pid $e_pid: $f"
echo "$f" | grep -q "\"pid\":$d_pid," || diag_fail "3: pid $d_pid missing: $f"
# The stopped owner's queue: what ss shows now (nobody accepts from it) is
# what the second snapshot saw, and it is not empty.
[ "$(json_lsocks "$DIAG_TMP/3.json")" = "$(ss_lsocks $P)" ] ||
	diag_fail "3: listeners differ from ss: $(json_lsocks "$DIAG_TMP/3.json") / $(ss_lsocks $P)"
q=$(ss_lsocks $P | awk '{ if ($2 > m) m = $2 } END { print m + 0 }')
[ "$q" -gt 0 ] || diag_fail "3: the stopped owner's queue is empty"
exit 0
