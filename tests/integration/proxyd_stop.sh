#!/bin/sh
# Stopping: SIGUSR1 stops accepting at once, lets in-flight sessions finish
# (a transfer started before the signal completes intact) and exits 0 when
# none is left; hard-stop-after bounds the drain; SIGHUP is ignored;
# SIGTERM is a fast stop. Ports 22150-22199.
. "$top_srcdir/tests/integration/proxyd_lib.sh"

P=22150
mkcfg() {
	cat >"$T/$1.cfg" <<CFG
global
    log stderr local0
    $2
defaults
    mode tcp
    log global
    timeout connect 2s
    timeout client 20s
    timeout server 20s
listen stop
    bind 127.0.0.1:$((P + 1))
    server s1 127.0.0.1:$((P + 21))
CFG
}
start_back $((P + 21)) echo

# 1. Graceful stop with a transfer in flight.
mkcfg graceful ""
start_proxyd "$T/graceful.cfg" "$T/graceful.log"
kill -HUP "$PROXYD_PID"
wait_grep "event=sighup" "$T/graceful.log" 30 || fail "SIGHUP not logged"
kill -0 "$PROXYD_PID" || fail "proxyd died on SIGHUP"
# The client connects now and sends its 50 MB only after the signal.
timeout 60 "$TCPCLI" -p $((P + 1)) -m echo -n 50000000 -s 11 -d 1500 -t 50000 >"$T/inflight.out" &
cli=$!
PIDS="$PIDS $cli"
wait_conns $((P + 21)) 1 || fail "in-flight session not established"
kill -USR1 "$PROXYD_PID"
wait_grep "event=graceful_stop" "$T/graceful.log" 30 || fail "graceful stop not logged"
# No new connection is accepted: the listening socket is closed.
sleep 0.2
out=$(timeout 10 "$TCPCLI" -p $((P + 1)) -m echo -n 10 -t 2000)
case "$out" in "error connect"*) ;; *) fail "accepted after SIGUSR1: $out" ;; esac
kill -0 "$PROXYD_PID" || fail "proxyd exited with a session in flight"
wait_exit "$cli" 600 || fail "in-flight transfer did not finish"
[ "$EXIT_STATUS" = 0 ] || fail "in-flight transfer broken: $(cat "$T/inflight.out")"
echo "in-flight: $(cat "$T/inflight.out")"
wait_exit "$PROXYD_PID" 50 || fail "proxyd did not exit after its last session"
[ "$EXIT_STATUS" = 0 ] || fail "graceful exit status $EXIT_STATUS"
check_sanitizers "$T/graceful.log"
grep -q '\] stop stop/s1 .* 50000000 -- ' "$T/graceful.log" || fail "in-flight session not logged as --"
PROXYD_PID=""

# 2. hard-stop-after 1s: an idle session is killed (KD) and the process
# exits about 1 s after SIGUSR1.
mkcfg hard "hard-stop-after 1s"
start_proxyd "$T/hard.cfg" "$T/hard.log"
timeout 30 "$TCPCLI" -p $((P + 1)) -m hold -t 10000 >"$T/hold.out" &
cli=$!
PIDS="$PIDS $cli"
wait_conns $((P + 21)) 1 || fail "session not established"
sleep 0.3
kill -USR1 "$PROXYD_PID"
wait_exit "$PROXYD_PID" 40 || fail "hard-stop-after did not end the process"
[ "$EXIT_STATUS" = 0 ] || fail "hard stop exit status $EXIT_STATUS"
grep -q "event=hard_stop" "$T/hard.log" || fail "hard stop not logged"
tt=$(log_tt '\] stop stop/s1' "$T/hard.log")
[ "$(log_field '\] stop stop/s1' "$T/hard.log" 7)" = KD ] || fail "killed session not logged KD"
in_range "$tt" 1000 3000 || fail "hard stop after $tt ms of session"
wait_exit "$cli" 50 || fail "client not released"
echo "hard: $(cat "$T/hold.out") session Tt=$tt"
check_sanitizers "$T/hard.log"
PROXYD_PID=""

# 3. SIGTERM: fast stop even with sessions.
mkcfg fast ""
start_proxyd "$T/fast.cfg" "$T/fast.log"
timeout 30 "$TCPCLI" -p $((P + 1)) -m hold -t 10000 >/dev/null &
PIDS="$PIDS $!"
sleep 0.3
stop_proxyd "$T/fast.log"
echo "PASS"
