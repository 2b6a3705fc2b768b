#!/bin/sh
# A long-lived connection held across reloads survives until its
# generation's drain deadline, is then cut, and the cut is recorded.
. "$top_srcdir/tests/integration/sv_lib.sh"

FP=23020 BP=23021
start_echo $BP
sv_config "$T/sv.cfg" $FP $BP "drain-timeout 3s" "kill-grace 1s" "tick 200ms"
start_sv "$T/sv.cfg"
g1=$(active_gen)

"$LOADCLI" hold -p $FP -i 100 -t 20 >"$T/hold.out" 2>&1 &
HOLD=$!
PIDS="$PIDS $HOLD"
sleep 0.5
t0=$(date +%s%N)
ctl reload | grep -q '^ok gen=' || fail "first reload"
sleep 1
ctl reload | grep -q '^ok gen=' || fail "second reload"
# Still held (by generation g1, draining), and visible as its session.
kill -0 $HOLD 2>/dev/null || fail "the connection was cut before the deadline"
sleep 0.5
ctl show generations >"$T/gens.txt"
cat "$T/gens.txt"
grep -E "^$g1 +[0-9]+ +draining +[0-9.]+ +[0-9.]+ +1 +2$" "$T/gens.txt" >/dev/null ||
	fail "generation $g1 not shown draining with its one session"
grep -q "peers:  127.0.0.1:$BP=1 127.0.0.1=1" "$T/gens.txt" ||
	grep -q "peers:  127.0.0.1=1 127.0.0.1:$BP=1" "$T/gens.txt" ||
	fail "the session's peers are not shown"
i=0
while kill -0 $HOLD 2>/dev/null; do
	i=$((i + 1)); [ $i -lt 100 ] || fail "the connection outlived its deadline"
	sleep 0.1
done
t1=$(date +%s%N)
cat "$T/hold.out"
grep -q 'cut=1' "$T/hold.out" || fail "the connection was not cut"
ms=$(( (t1 - t0) / 1000000 ))
echo "cut ${ms} ms after the first reload (deadline 3000 ms)"
[ $ms -ge 2900 ] || fail "cut before the deadline ($ms ms)"
[ $ms -le 5000 ] || fail "cut long after the deadline ($ms ms)"
sleep 0.5
st=$(db "SELECT exit_status FROM generations WHERE gen = $g1")
echo "gen $g1: $st"
echo "$st" | grep -q 'cut at its deadline' || fail "cut not recorded in generations"
n=$(db "SELECT count(*) FROM actions WHERE action = 'kill' AND target LIKE 'gen:$g1 %' AND error LIKE '%drain deadline%'")
[ "$n" = 1 ] || fail "no kill action recorded for generation $g1"
[ "$(live_gens)" = 1 ] || fail "more than one generation left"
echo "PASS"
exit 0
