#!/bin/sh
# proxytop against the real supervisor: examples/demo.cfg (its ports moved to
# 28080-28082, its runtime dir into a temporary one) under proxysv, with echo
# backends and a few held client connections. proxytop runs inside tmux and
# the test reads the screen as a person would:
#  1. the generations panel shows the active generation and its pid, the
#     header the generation;
#  2. 2 / Tab switch panels: the listener, then the sockets of its port;
#  3. r + y reloads: the generation goes up in the header and the panel;
#  4. --db fills the queue sparkline from the store's samples (rows added
#     to the store here stand out against the live zero queue);
#  5. a second listening socket on the listener's address (SO_REUSEPORT, from
#     another process) is marked DUP; when proxysv's watch stream carries
#     incidents, the duplicate_listener incident shows in the incidents panel.
# proxyd's listening socket is made without SO_REUSEPORT, so a foreign
# socket cannot join it as it is: the helper takes a copy of proxysv's
# listening socket (pidfd_getfd), sets SO_REUSEPORT on it, closes the copy,
# then binds and listens on its own socket on the same address.
# Ports 28080-28083.
# top_lib.sh for the time box and the screen helpers (not top_setup: the
# temporary directory and the cleanup are sv_lib.sh's)
. "$top_srcdir/tests/integration/top_lib.sh"
top_timebox 150
. "$top_srcdir/tests/integration/sv_lib.sh"
SOCKPEER="$top_builddir/tests/integration/sockpeer"
[ -x "$PROXYTOP" ] || { echo "SKIP: $PROXYTOP not built"; exit 77; }
[ -x "$SOCKPEER" ] || { echo "SKIP: $SOCKPEER not built"; exit 77; }
command -v tmux >/dev/null || { echo "SKIP: tmux not installed"; exit 77; }
command -v python3 >/dev/null || { echo "SKIP: python3 not installed"; exit 77; }

FP=28080
B1=28081
B2=28082
FP2=28083
TOP_SESSION="pt-topsv-$$"
CTLSOCK="$T/run/control.sock"
DB="$T/run/incidents.db"

sv_cleanup() {
	rc=$?
	tmux kill-session -t "$TOP_SESSION" 2>/dev/null
	cleanup
	exit $rc
}
trap sv_cleanup EXIT

# top_lib's, with the supervisor's logs too
top_fail() {
	echo "--- screen:"
	top_screen
	fail "$*"
}

# listener_red: the listener's row carries a red foreground (SGR 31).
listener_red() {
	tmux capture-pane -e -p -t "$TOP_SESSION" | grep "127\.0\.0\.1:$FP" | od -c >"$T/row.log"
	tmux capture-pane -e -p -t "$TOP_SESSION" | grep "127\.0\.0\.1:$FP" |
		grep -q "$(printf '\033')\[[0-9;]*31[;m]"
}

# The demo's configuration on this test's ports and runtime dir.
sed -e "s/127\.0\.0\.1:8080/127.0.0.1:$FP/" -e "s/127\.0\.0\.1:8081/127.0.0.1:$B1/" \
	-e "s/127\.0\.0\.1:8082/127.0.0.1:$B2/" -e "s|runtime-dir .*|runtime-dir $T/run|" \
	-e "s|/tmp/proxysv-demo/|$T/run/|" \
	"$top_srcdir/examples/demo.cfg" >"$T/demo.cfg"
printf '    proxyd %s\n' "$PROXYD" >>"$T/demo.cfg"
# a second listener, to move the selection to (a selected row is drawn in
# reverse video, without its own colour)
sed -i "s/^\( *bind 127\.0\.0\.1:$FP .*\)/\1\n    bind 127.0.0.1:$FP2 name demo2/" "$T/demo.cfg"
grep -q "bind 127.0.0.1:$FP2 name demo2" "$T/demo.cfg" || fail "demo.cfg: no second listener"
grep -q "bind 127.0.0.1:$FP" "$T/demo.cfg" || fail "demo.cfg: frontend not moved to $FP"
start_echo $B1
start_echo $B2
start_sv "$T/demo.cfg"
gen1=$(active_gen)
pid1=$(ctl status --json | grep -o "\"gen\":$gen1,\"pid\":[0-9]*" | sed 's/.*://')
[ -n "$pid1" ] || fail "no pid for generation $gen1: $(ctl status --json)"

# Traffic: held sessions through the proxy.
"$SOCKPEER" connect "127.0.0.1:$FP" -n 5 -t 140 >"$T/conn.log" 2>&1 &
PIDS="$PIDS $!"
i=0
until grep -q '^ready' "$T/conn.log"; do
	i=$((i + 1)); [ $i -lt 50 ] || fail "clients did not connect: $(cat "$T/conn.log")"
	sleep 0.1
done

tmux new-session -d -s "$TOP_SESSION" -x 130 -y 40 \
	"env LANG=C.UTF-8 '$PROXYTOP' -S '$CTLSOCK' --db '$DB' -d 300 2>'$T/top.err'; echo \$? >'$T/top.rc'" ||
	fail "tmux new-session"

# 1. generations
top_wait_screen " gen $gen1 \(1 alive\)"
top_wait_screen "^ +$gen1 +$pid1 +active "
# 2. panels by number and Tab
top_keys 2
top_wait_screen "^127\.0\.0\.1:$FP +[0-9]"
top_screen | grep -Eq "^127\.0\.0\.1:$FP .*DUP" && top_fail "listener marked DUP before any duplicate"
top_wait_screen "^127\.0\.0\.1:$FP2 +[0-9]"
top_keys End
sleep 0.5
listener_red && top_fail "listener drawn in red before any duplicate"
top_keys Tab
top_wait_screen "^ *$FP +$pid1 "
top_keys 1
top_wait_screen "^ +$gen1 +$pid1 +active "
# 3. reload from the keyboard, confirmed
top_keys r
top_wait_screen "reload: start a new generation\? \[y/n\]"
top_keys y
top_wait_screen "reload: ok"
wait_active 15 "$gen1" || top_fail "no new active generation after r y"
gen2=$(active_gen)
[ "$gen2" -gt "$gen1" ] || top_fail "generation did not go up: $gen1 -> $gen2"
pid2=$(ctl status --json | grep -o "\"gen\":$gen2,\"pid\":[0-9]*" | sed 's/.*://')
top_wait_screen " gen $gen2 \("
top_wait_screen "^ +$gen2 +$pid2 +active "
top_wait_screen "^ +$gen1 +$pid1 +(draining|stopping|exited) "

# 4. history from the store. The live queue is 0; rows written into the
# store before now are far above it, so only a sparkline built from the
# store shows the top of the ASCII ramp ('@').
[ -f "$DB" ] || fail "proxysv wrote no store at $DB"
now=$(($(date +%s) * 1000))
vals=""
for k in 30 28 26 24 22 20; do
	vals="$vals($((now - k * 1000)),'tcp:127.0.0.1:$FP','accept_queue',100000,0,1),"
done
sqlite3 -cmd ".timeout 5000" "$DB" \
	"INSERT INTO samples(t_ms, subject, metric, value, res_ms, n) VALUES ${vals%,};" ||
	fail "cannot add samples to the store"
COLUMNS=130 "$PROXYTOP" -S "$CTLSOCK" --once --panel listeners --ascii >"$T/once.nodb" ||
	fail "--once failed"
COLUMNS=130 "$PROXYTOP" -S "$CTLSOCK" --once --panel listeners --ascii --db "$DB" >"$T/once.db" ||
	fail "--once --db failed"
row_nodb=$(grep -E "^127\.0\.0\.1:$FP " "$T/once.nodb")
row_db=$(grep -E "^127\.0\.0\.1:$FP " "$T/once.db")
[ -n "$row_db" ] || { cat "$T/once.db"; fail "--once --db: no listener row"; }
echo "$row_nodb" | grep -q '@' && fail "sparkline without --db shows store values: $row_nodb"
# the store's values, then proxysv's own samples of the zero queue since
echo "$row_db" | grep -Eq '@@@@@@_+ ' || fail "sparkline with --db lacks the store's samples: $row_db"
echo "tested: --db sparkline '$(echo "$row_db" | grep -Eo '[@_]{6,}')' vs without '$(echo "$row_nodb" | grep -Eo ' _+ ' | tr -d ' ')'"

# 5. a duplicate listener
lfd=$(ctl status --json | grep -o "\"addr\":\"127.0.0.1:$FP\",\"name\":\"[^\"]*\",\"fd\":[0-9]*" |
	sed 's/.*"fd"://')
[ -n "$lfd" ] || fail "no fd for the listener in status --json: $(ctl status --json)"
sleep 2.2 # later than proxysv by more than the detector's group window
python3 - "$SV_PID" "$lfd" "$FP" >"$T/dup.log" 2>&1 <<'PY' &
import ctypes, os, signal, socket, sys, time
pid, fd, port = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
libc = ctypes.CDLL(None, use_errno=True)
pidfd = os.pidfd_open(pid)
copy = libc.syscall(438, pidfd, fd, 0)  # pidfd_getfd
if copy < 0:
    print("pidfd_getfd:", os.strerror(ctypes.get_errno()), flush=True)
    sys.exit(1)
os.close(pidfd)
theirs = socket.socket(fileno=copy)
theirs.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
theirs.close()
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
# SO_REUSEADDR too: the connections accepted on the listener share its port
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
s.bind(("127.0.0.1", port))
s.listen(16)
print("ready pid=%d" % os.getpid(), flush=True)
signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
time.sleep(120)
PY
DUP_PID=$!
PIDS="$PIDS $DUP_PID"
i=0
until grep -q '^ready' "$T/dup.log"; do
	i=$((i + 1))
	[ $i -lt 50 ] && kill -0 "$DUP_PID" 2>/dev/null || fail "duplicate listener: $(cat "$T/dup.log")"
	sleep 0.1
done
[ "$(ss -Hltn "sport = :$FP" | grep -c .)" = 2 ] || fail "ss does not show 2 listening sockets on $FP"
top_keys 2
top_wait_screen "^127\.0\.0\.1:$FP .*DUP"
top_screen | grep -Eq "^127\.0\.0\.1:$FP2 .*DUP" && top_fail "$FP2 marked DUP too"
top_keys End
i=0
until listener_red; do
	i=$((i + 1)); [ $i -lt 30 ] || top_fail "duplicate listener not drawn in red"
	sleep 0.1
done
# 2 sockets on the address
top_screen | grep -Eq "^127\.0\.0\.1:$FP +[0-9,]+ +2 " || top_fail "listener row does not count 2 sockets"
# The incident, once proxysv reports incidents in its watch stream.
i=0
inc=""
while [ $i -lt 60 ]; do
	inc=$(ctl status --json | grep -o '"incidents":\[[^]]*\]')
	case "$inc" in *duplicate_listener*) break ;; esac
	i=$((i + 1))
	sleep 0.1
done
case "$inc" in
*duplicate_listener*)
	top_keys 5
	top_wait_screen "OPEN +[a-z]+ +duplicate_listener +tcp:127\.0\.0\.1:$FP" 100
	echo "tested: duplicate_listener incident shown in the incidents panel"
	;;
*)
	echo "SKIP part: proxysv's watch stream carries no duplicate_listener incident" \
		"(incidents: ${inc:-absent}); only the DUP marker was checked"
	;;
esac
top_keys q
i=0
while tmux has-session -t "$TOP_SESSION" 2>/dev/null; do
	i=$((i + 1)); [ $i -lt 50 ] || top_fail "proxytop did not exit on q"
	sleep 0.1
done
[ "$(cat "$T/top.rc" 2>/dev/null)" = 0 ] ||
	fail "proxytop exited with status $(cat "$T/top.rc" 2>/dev/null): $(cat "$T/top.err")"
exit 0
