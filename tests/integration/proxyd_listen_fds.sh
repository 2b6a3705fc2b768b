#!/bin/sh
# Socket activation and readiness: sockets passed with LISTEN_FDS are
# matched to binds by name and address, an unmatched one is closed and
# logged, binds without one are bound; READY=1 reaches NOTIFY_SOCKET once
# proxyd accepts; a LISTEN_PID that is not proxyd's is ignored.
# Ports 22200-22249.
. "$top_srcdir/tests/integration/proxyd_lib.sh"

P=22200
cat >"$T/proxyd.cfg" <<CFG
global
    log stderr local0
defaults
    mode tcp
    log global
    timeout connect 2s
    timeout client 10s
    timeout server 10s
frontend fe
    bind 127.0.0.1:$((P + 1))
    bind 127.0.0.1:$((P + 2)) name web
    bind 127.0.0.1:$((P + 3))
    default_backend be
backend be
    server s1 127.0.0.1:$((P + 21))
CFG
start_back $((P + 21)) echo

timeout 30 "$TCPCLI" -m notify -u "$T/notify.sock" -t 20000 >"$T/notify.out" &
notif=$!
PIDS="$PIDS $notif"
wait_grep bound "$T/notify.out" 50 || fail "notify receiver did not start"

NOTIFY_SOCKET="$T/notify.sock" "$FDPASS" 127.0.0.1:$((P + 1)) 127.0.0.1:$((P + 2))=web \
	127.0.0.1:$((P + 9))=stray -- "$PROXYD" -f "$T/proxyd.cfg" 2>"$T/proxyd.log" &
PROXYD_PID=$!
PIDS="$PIDS $PROXYD_PID"
wait_exit "$notif" 100 || fail "no READY=1 on NOTIFY_SOCKET"
[ "$EXIT_STATUS" = 0 ] || fail "notify: $(cat "$T/notify.out")"
grep -q "READY=1" "$T/notify.out" || fail "notify: $(cat "$T/notify.out")"
grep -q "event=start" "$T/proxyd.log" || fail "READY=1 before the start line"
echo "notify: $(cat "$T/notify.out")"

grep -q "event=listen_fd_inherited fd=3 name=127.0.0.1_$((P + 1))" "$T/proxyd.log" ||
	fail "fd 3 not inherited by its address name"
grep -q "event=listen_fd_inherited fd=4 name=web" "$T/proxyd.log" || fail "fd 4 not inherited by name"
grep -q "event=listen_fd_closed fd=5 name=stray" "$T/proxyd.log" || fail "stray fd 5 not closed"
for port in $((P + 1)) $((P + 2)) $((P + 3)); do
	out=$(timeout 20 "$TCPCLI" -p "$port" -m echo -n 10000 -s "$port" -t 5000) ||
		fail "port $port: $out"
done
# The stray socket is closed everywhere: nobody accepts on it.
out=$(timeout 10 "$TCPCLI" -p $((P + 9)) -m echo -n 10 -t 2000)
case "$out" in "error connect"*) ;; *) fail "stray socket still accepting: $out" ;; esac
stop_proxyd

# NOTIFY_SOCKET in the abstract namespace ("@name").
abs="@proxyd-it-$$"
timeout 30 "$TCPCLI" -m notify -u "$abs" -t 20000 >"$T/abs.out" &
notif=$!
PIDS="$PIDS $notif"
wait_grep bound "$T/abs.out" 50 || fail "abstract notify receiver did not start"
NOTIFY_SOCKET="$abs" "$PROXYD" -f "$T/proxyd.cfg" 2>"$T/abs.log" &
PROXYD_PID=$!
PIDS="$PIDS $PROXYD_PID"
wait_exit "$notif" 100 || fail "no READY=1 on an abstract NOTIFY_SOCKET"
grep -q "READY=1" "$T/abs.out" || fail "abstract notify: $(cat "$T/abs.out")"
stop_proxyd "$T/abs.log"

# LISTEN_PID of another process: the sockets are not ours; binding the
# same address then fails, and proxyd says so and exits 1.
"$FDPASS" -P 1 127.0.0.1:$((P + 1)) -- "$PROXYD" -f "$T/proxyd.cfg" 2>"$T/pid.log" &
pid=$!
PIDS="$PIDS $pid"
wait_exit "$pid" 100 || fail "proxyd with a foreign LISTEN_PID did not exit"
[ "$EXIT_STATUS" = 1 ] || fail "foreign LISTEN_PID: exit status $EXIT_STATUS"
grep -q "event=listen_fds_ignored" "$T/pid.log" || fail "foreign LISTEN_PID not logged"
grep -q "Address already in use" "$T/pid.log" || fail "bind error not reported"
check_sanitizers "$T/pid.log"
echo "PASS"
