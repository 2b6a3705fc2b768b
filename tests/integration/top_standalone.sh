#!/bin/sh
# proxytop --standalone inside tmux against real sockets: panels, the
# listener row with its accept queue, the filter, resizing, quitting; and
# --once text output.
. "$top_srcdir/tests/integration/top_lib.sh"
top_timebox 60
top_setup
command -v python3 >/dev/null 2>&1 || top_skip "python3 not installed"

# As root, everything happens in a network namespace of the test's own, so
# that the rows do not depend on what else the host runs (and --netns is
# exercised); otherwise in ours, with the assertions on filtered rows.
NSARG=""
NSEXEC=""
if [ "$(id -u)" = 0 ] && command -v ip >/dev/null 2>&1 &&
   ip netns add "$TOP_SESSION" 2>/dev/null; then
	ns_cleanup() { ip netns del "$TOP_SESSION" 2>/dev/null; }
	TOP_EXTRA_CLEANUP=ns_cleanup
	ip -n "$TOP_SESSION" link set lo up || top_fail "netns lo up"
	NSARG="--netns $TOP_SESSION"
	NSEXEC="ip netns exec $TOP_SESSION"
fi

# A listener (kernel-chosen port, backlog 16) that never accepts, with 5
# clients waiting in its queue.
$NSEXEC python3 -c '
import socket, sys, time
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(16)
cs = [socket.create_connection(s.getsockname()) for i in range(5)]
print(s.getsockname()[1], flush=True)
time.sleep(60)
' >"$TOP_TMP/port" &
TOP_PIDS="$TOP_PIDS $!"
n=50
while [ ! -s "$TOP_TMP/port" ] && [ "$n" -gt 0 ]; do sleep 0.1; n=$((n - 1)); done
PORT=$(cat "$TOP_TMP/port")
[ -n "$PORT" ] || top_fail "listener helper did not start"

# --once: plain text, no terminal needed
COLUMNS=120 "$PROXYTOP" --standalone $NSARG --once --panel listeners -d 200 >"$TOP_TMP/once" ||
	top_fail "--once failed"
grep -Eq "^127\.0\.0\.1:$PORT +[0-9]+ +1 +5 +16 " "$TOP_TMP/once" ||
	{ cat "$TOP_TMP/once" >&2; top_fail "--once: no listener row with queue 5/16"; }
grep -q "Generations" "$TOP_TMP/once" || top_fail "--once: no tabs"
grep -q "PORT.*ESTAB" "$TOP_TMP/once" && top_fail "--once --panel printed other panels"

tmux new-session -d -s "$TOP_SESSION" -x 120 -y 40 \
	"env LANG=C.UTF-8 '$PROXYTOP' --standalone $NSARG -d 300" ||
	top_fail "tmux new-session"
top_wait_screen "proxytop .* standalone"
# standalone starts on the listeners panel
top_wait_screen "^ADDRESS"
top_wait_screen "^127\.0\.0\.1:$PORT +[0-9]+ +1 +5 +16 "
# panel switching: number keys and Tab
top_keys 3
top_wait_screen "^ *PORT.*ESTAB +SYN-RECV +CLOSE-WAIT"
top_keys / "$PORT" Enter
# the queued clients' server ends: ESTAB, not yet owned by anyone
top_wait_screen "^ +$PORT +- +- +5 "
top_keys / Escape
top_keys Tab
top_wait_screen "BACKEND/SERVER"
top_keys 1
top_wait_screen "GEN.*PID +STATE"
top_keys / python3 Enter
top_wait_screen "^ +- +[0-9]+ +[a-z]+ +python3 "
top_keys / Escape
top_keys 2
top_wait_screen "^ADDRESS"
rows=$(top_screen | grep -Ec '^[0-9.]+:[0-9]+ ')
[ "$rows" -ge 1 ] || top_fail "no listener rows"
# the filter narrows the rows to the one listener
top_keys / "$PORT" Enter
top_wait_screen "filter: $PORT"
sleep 0.4
rows=$(top_screen | grep -Ec '^[0-9.]+:[0-9]+ ')
[ "$rows" -eq 1 ] || top_fail "filter: $rows rows, want 1"
top_screen | grep -Eq "^127\.0\.0\.1:$PORT " || top_fail "filter lost the row"
top_keys / nosuchthing Enter
top_wait_screen "no row matches the filter"
top_keys Escape
sleep 0.3
top_keys / Escape
top_wait_screen "^127\.0\.0\.1:$PORT "
# help, and actions unavailable without a supervisor
top_keys h
top_wait_screen "proxytop keys"
top_keys Space
top_keys r
top_wait_screen "no supervisor: actions unavailable"
# too small, then back
tmux resize-window -t "$TOP_SESSION" -x 70 -y 20 2>/dev/null ||
	tmux resize-pane -t "$TOP_SESSION" -x 70 -y 20
top_wait_screen "terminal too small"
tmux resize-window -t "$TOP_SESSION" -x 120 -y 40 2>/dev/null ||
	tmux resize-pane -t "$TOP_SESSION" -x 120 -y 40
top_wait_screen "^ADDRESS"
top_keys q
top_wait_gone
exit 0
