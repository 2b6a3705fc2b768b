#!/bin/sh
# proxytop against a fake proxysv: a unix socket serving lines in the
# format of the `watch` contract (a line split across writes, too), and
# answering actions. Checks --once, the live screen, an action with its
# confirmation, and that a vanished supervisor shows as stale and is
# reconnected to.
. "$top_srcdir/tests/integration/top_lib.sh"
top_timebox 60
top_setup
command -v socat >/dev/null 2>&1 || top_skip "socat not installed"

SOCK="$TOP_TMP/ctl.sock"
cat >"$TOP_TMP/fake.sh" <<'FAKE'
# socat runs one of these per connection; each records its pid so that the
# test can end exactly the ones it caused
echo $$ >>"$(dirname "$0")/fake.pids"
read -r cmd rest
case "$cmd" in
watch)
	t=$(($(date +%s) * 1000))
	i=40
	while [ $i -lt 200 ]; do
		# every line arrives in two writes
		printf '{"v":1,"t":%s,"tick":%s,"tick_ms":2.5,"host":"fake-1","started":%s,' \
			"$t" "$i" "$((t - 3600000))"
		sleep 0.05
		printf '"active_gen":3,"reloads":2,"reloads_failed":0,"new_key":[1,{"x":2}],"generations":[{"gen":3,"pid":4242,"state":"active","started":%s,"ready":%s,"drain_since":null,"deadline":null,"sessions":12,"states":{"ESTAB":10,"CLOSE-WAIT":2}},{"gen":2,"pid":4100,"state":"draining","started":%s,"drain_since":%s,"deadline":%s,"sessions":3,"states":{"ESTAB":3}}],"listeners":[{"addr":"127.0.0.1:18080","queue":7,"backlog":128,"overflows":%s,"sockets":[{"ino":1,"queue":7,"backlog":128,"owners":[1,4242]}],"duplicate":false},{"addr":"0.0.0.0:18081","queue":0,"backlog":128,"overflows":0,"sockets":[{"ino":2,"queue":0,"backlog":128,"owners":[777]},{"ino":3,"queue":0,"backlog":128,"owners":[4242]}],"duplicate":true}],"ports":[{"port":18080,"pid":4242,"states":{"ESTAB":10,"CLOSE-WAIT":2},"oldest_ms":{"CLOSE-WAIT":4000}}],"servers":[{"gen":3,"backend":"app","server":"s1","status":"UP","scur":3,"smax":9,"slim":100,"eff_maxconn":100,"qcur":0,"qmax":0,"check":"L4OK","weight":1}],"incidents":[{"id":7,"kind":"duplicate_listener","severity":"critical","subject":"tcp:0.0.0.0:18081","opened":%s,"updated":%s,"summary":"2 separate owner groups listen on 0.0.0.0:18081"}],"store":null}\n' \
			"$((t - 600000))" "$((t - 599000))" "$((t - 3000000))" "$((t - 20000))" "$((t + 40000))" "$((i * 2))" "$((t - 90000))" "$t"
		sleep 0.25
		t=$((t + 300))
		i=$((i + 1))
	done
	;;
reload)
	echo "ok reload started gen 4"
	;;
*)
	echo "error: $cmd: refused by policy"
	;;
esac
FAKE

fake_start() {
	socat -lf "$TOP_TMP/socat.log" "UNIX-LISTEN:$SOCK,fork,unlink-early" "EXEC:/bin/sh $TOP_TMP/fake.sh" &
	FAKE_PID=$!
	TOP_PIDS="$TOP_PIDS $FAKE_PID"
	n=50
	while [ ! -S "$SOCK" ] && [ "$n" -gt 0 ]; do sleep 0.1; n=$((n - 1)); done
	[ -S "$SOCK" ] || top_fail "fake proxysv did not start"
}

# Ends socat and the per-connection scripts it ran for this test.
fake_stop() {
	kill -TERM "$FAKE_PID" 2>/dev/null
	wait "$FAKE_PID" 2>/dev/null
	if [ -f "$TOP_TMP/fake.pids" ]; then
		for p in $(cat "$TOP_TMP/fake.pids"); do
			kill -TERM "$p" 2>/dev/null
		done
		rm -f "$TOP_TMP/fake.pids"
	fi
}
TOP_EXTRA_CLEANUP=fake_stop

# nobody there: --once fails cleanly
"$PROXYTOP" -S "$SOCK" --once >/dev/null 2>"$TOP_TMP/err" && top_fail "--once without a supervisor succeeded"
grep -q "ctl.sock" "$TOP_TMP/err" || top_fail "--once error does not name the socket"

fake_start
COLUMNS=140 "$PROXYTOP" -S "$SOCK" --once >"$TOP_TMP/once" || top_fail "--once failed"
grep -q "fake-1" "$TOP_TMP/once" || top_fail "--once: no host"
grep -Eq "^ +3 +4242 +active " "$TOP_TMP/once" || { cat "$TOP_TMP/once" >&2; top_fail "--once: no active generation row"; }
grep -Eq "^ +2 +4100 +draining .* 40s$" "$TOP_TMP/once" ||
	grep -Eq "^ +2 +4100 +draining .* 3[0-9]s$" "$TOP_TMP/once" || { cat "$TOP_TMP/once" >&2; top_fail "--once: no draining row with its deadline"; }
grep -Eq "^ +7 OPEN +critical +duplicate_listener +tcp:0.0.0.0:18081" "$TOP_TMP/once" ||
	{ cat "$TOP_TMP/once" >&2; top_fail "--once: no incident row"; }
grep -Eq "^0\.0\.0\.0:18081 .*DUP" "$TOP_TMP/once" || top_fail "--once: duplicate not marked"
grep -q "app/s1" "$TOP_TMP/once" || top_fail "--once: no server row"

tmux new-session -d -s "$TOP_SESSION" -x 120 -y 40 \
	"env LANG=C.UTF-8 '$PROXYTOP' -S '$SOCK' -d 300" ||
	top_fail "tmux new-session"
top_wait_screen "fake-1 .*gen 3 \(2 alive\)"
top_wait_screen "^ +3 +4242 +active"
# the tick goes on
t1=$(top_screen | sed -n 's/.* tick \([0-9]*\) .*/\1/p' | head -1)
sleep 1
t2=$(top_screen | sed -n 's/.* tick \([0-9]*\) .*/\1/p' | head -1)
[ -n "$t1" ] && [ -n "$t2" ] && [ "$t2" -gt "$t1" ] || top_fail "tick did not advance ($t1 -> $t2)"
# the incident panel, highlighted duplicate
top_keys 5
top_wait_screen "OPEN +critical +duplicate_listener"
top_keys Enter
top_wait_screen "2 separate owner groups"
top_keys Escape
# reload, confirmed
top_keys r
top_wait_screen "reload: start a new generation\? \[y/n\]"
top_keys y
top_wait_screen "reload: ok reload started gen 4"
# kill of the selected generation; the refusal is shown as it came
top_keys 1 Down k
top_wait_screen "kill generation 2 \(pid 4100\)\? \[y/n\]"
top_keys n
top_wait_screen "cancelled: kill 2"
top_keys 3 x y
top_wait_screen "destroy 18080: error: destroy: refused by policy"
# the supervisor goes away: stale; it comes back: reconnected
fake_stop
top_wait_screen "stale" 80
fake_start
top_wait_screen "fake-1 .* tick [0-9]+ age [0-9.]+s$" 100
top_screen | grep -q "stale" && top_fail "still stale after reconnecting"
top_keys q
top_wait_gone
exit 0
