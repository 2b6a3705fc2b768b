#!/bin/sh
# proxysv as PID 1 of a new PID namespace: it reaps orphans, and SIGTERM
# shuts every generation down gracefully with exit status 0.
. "$top_srcdir/tests/integration/sv_lib.sh"
command -v unshare >/dev/null || { echo "SKIP: no unshare"; exit 77; }

FP=23050 BP=23051
start_echo $BP
# A proxyd wrapper that leaves an orphan behind on every start: its
# background child outlives the subshell and is re-parented to PID 1.
cat >"$T/proxyd-orphaner" <<EOW
#!/bin/sh
(sleep 0.3 & echo \$! >"$T/orphan.pid") &
exec "$PROXYD" "\$@"
EOW
chmod +x "$T/proxyd-orphaner"
sv_config "$T/sv.cfg" $FP $BP "tick 200ms" "proxyd $T/proxyd-orphaner" "shutdown-timeout 5s" \
	"shutdown-delay 1s"
unshare --pid --fork --mount-proc "$PROXYSV" -f "$T/sv.cfg" --db "$T/run/incidents.db" \
	>"$T/sv.log" 2>&1 &
UNSHARE=$!
PIDS="$PIDS $UNSHARE"
wait_active 10 || fail "no active generation"
SV_PID=$(pgrep -P $UNSHARE)
[ -n "$SV_PID" ] || fail "no proxysv under unshare"
grep -q 'pid1=1' "$T/sv.log" || fail "proxysv is not PID 1 in its namespace"
ctl reload | grep -q '^ok gen=' || fail "reload"
sleep 1
# Two orphans (one per start) have exited by now: reaped, not zombies.
n=$(grep -c 'event=reaped' "$T/sv.log")
echo "orphans reaped: $n"
[ "$n" -ge 2 ] || fail "orphans not reaped"
z=$(ps -o stat= --ppid "$SV_PID" | grep -c Z)
[ "$z" = 0 ] || fail "$z zombies under PID 1"
"$LOADCLI" load -p $FP -c 2 -d 1 | grep -q 'conn_fail=0 reqs=[1-9][0-9]* req_fail=0' ||
	fail "not serving"
kill -TERM "$SV_PID"
t0=$(date +%s%N)
# shutdown-delay: still serving for a second after SIGTERM.
sleep 0.3
"$LOADCLI" hold -p $FP -i 100 -t 1 | grep -q 'cut=0' || fail "not serving during shutdown-delay"
i=0
while kill -0 $UNSHARE 2>/dev/null; do
	i=$((i + 1)); [ $i -lt 100 ] || fail "no exit within 10 s of SIGTERM"
	sleep 0.1
done
wait $UNSHARE
rc=$?
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
echo "shut down ${ms} ms after SIGTERM (shutdown-delay 1 s)"
[ $ms -ge 1000 ] || fail "shutdown-delay not honoured"
echo "exit status $rc"
[ $rc = 0 ] || fail "exit status $rc"
grep -q 'event=shutdown_complete cut=0' "$T/sv.log" || fail "shutdown not graceful"
echo "PASS"
exit 0
