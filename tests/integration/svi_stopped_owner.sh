#!/bin/sh
# Incident 5's other face: the process owning a listener is stopped
# (SIGSTOP) while clients keep connecting; the kernel completes their
# handshakes and the accept queue fills. accept_backlog opens within 3
# ticks with the owner's state in the evidence; the policy (observe by
# default for accept_backlog, the active generation is never killed)
# records it; after SIGCONT the queue drains and the incident resolves.
. "$top_srcdir/tests/integration/svi_lib.sh"
SOCKPEER="$top_builddir/tests/integration/sockpeer"
[ -x "$SOCKPEER" ] || { echo "SKIP: sockpeer not built"; exit 77; }

FP=26040 BP=26041
start_echo $BP
svi_config "$T/sv.cfg" $FP -- "server s1 127.0.0.1:$BP" -- "tick 200ms"
sed -i 's/^frontend fe$/frontend fe\n    backlog 16/' "$T/sv.cfg"
start_sv "$T/sv.cfg"
g=$(active_gen)
gpid=$(gen_pid "$g")
[ -n "$gpid" ] || fail "no pid for generation $g"
STOPPED=$gpid
kill -STOP $gpid
trap 'kill -CONT $STOPPED 2>/dev/null; cleanup' EXIT
"$SOCKPEER" connect 127.0.0.1:$FP -n 17 -t 60 >"$T/clients.log" 2>&1 &
PIDS="$PIDS $!"
t0=$(now_ms)
id=$(wait_sql 10 "SELECT id FROM incidents WHERE kind = 'accept_backlog' AND subject LIKE 'tcp:127.0.0.1:$FP:ino:%'") ||
	fail "accept_backlog did not open"
opened=$(db "SELECT opened_ms FROM incidents WHERE id = $id")
echo "incident $id opened $((opened - t0)) ms after the clients came"
[ $((opened - t0)) -le 1000 ] || fail "not within 3 ticks of the queue filling"
ev=$(db "SELECT evidence FROM incidents WHERE id = $id")
echo "$ev" | grep -q '"stopped"' || fail "the stopped owner is not in the evidence: $ev"
q=$(db "SELECT peak FROM incidents WHERE id = $id")
echo "accept queue peak $q"
a=$(wait_sql 3 "SELECT action || ':' || result FROM actions WHERE incident_id = $id") || fail "no action recorded"
[ "$a" = observe:ok ] || fail "action: $a"
kill -CONT $gpid
wait_sql 5 "SELECT resolved_ms FROM incidents WHERE id = $id AND resolved_ms IS NOT NULL" >/dev/null ||
	fail "the incident did not resolve after SIGCONT"
n=$(db "SELECT max(value) FROM samples WHERE subject = 'tcp:127.0.0.1:$FP' AND metric = 'accept_queue'")
echo "accept_queue samples: max $n"
[ "${n%.*}" -ge 10 ] || fail "accept_queue samples do not show the queue ($n)"
check_proxyctl_json accept_backlog "$id"
echo "PASS"
exit 0
