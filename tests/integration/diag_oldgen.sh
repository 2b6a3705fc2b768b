#!/bin/sh
# stale_generation, port 21005: an "old generation" accepts 5 connections,
# closes its listener and keeps them; a newer process of the same executable
# then listens on the port. diagnose must name the old one (and not the new
# one) with its connection count, equal to what `ss -tanp` shows for it. The
# clients run from a copy of the helper, so that they are another program.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/diag_lib.sh"
diag_need_root
diag_timebox 60
diag_need_tools
diag_setup
P=21005
A=127.0.0.1:$P

cp "$SOCKPEER" "$DIAG_TMP/sockclient" || diag_fail "cp"
peer_start old -- serve "$A" -c 5
DIAG_SAVED=$SOCKPEER
SOCKPEER=$DIAG_TMP/sockclient
peer_start clients -- connect "$A" -n 5
SOCKPEER=$DIAG_SAVED
diag_wait_line "$DIAG_TMP/old.out" "^closed pid=$old_pid accepted=5" 10 || diag_fail "old did not close its listener"
sleep 0.1
peer_start new -- listen "$A"

diag_run "$DIAG_TMP/d.json" --port $P --interval 200
[ "$diag_rc" = 1 ] || diag_fail "exit $diag_rc, wanted 1"
[ "$(json_count "$DIAG_TMP/d.json" stale_generation)" = 1 ] ||
	diag_fail "wanted one stale_generation: $(cat "$DIAG_TMP/d.json")"
f=$(json_findings "$DIAG_TMP/d.json" stale_generation)
echo "$f" | grep -q "\"subject\":\"pid:$old_pid\",\"pid\":$old_pid," || diag_fail "old pid $old_pid not named: $f"
echo "$f" | grep -q "\"newer\":{\"pid\":$new_pid," || diag_fail "newer pid $new_pid not named: $f"
s=$(ss -Htanp | grep -c "pid=$old_pid,")
[ "$s" = 5 ] || diag_fail "ss: old generation holds $s sockets, wanted 5"
[ "$(json_num "$f" connections_total)" = "$s" ] || diag_fail "connections_total differs from ss ($s): $f"
[ "$(json_num "$f" ESTABLISHED)" = "$s" ] || diag_fail "ESTABLISHED differs from ss ($s): $f"
[ "$(json_count "$DIAG_TMP/d.json" duplicate_listener)" = 0 ] || diag_fail "the old one no longer listens"
exit 0
