#!/bin/sh
# Session and event logs reach syslog targets with RFC 3164 framing over
# UDP and over a unix datagram socket; `option dontlognull` drops sessions
# in which the client sent nothing; the tcplog line has its fields.
# Ports 22300-22349.
. "$top_srcdir/tests/integration/proxyd_lib.sh"

P=22300
start_back $((P + 21)) echo
timeout 30 "$TCPCLI" -m recv -p $((P + 40)) -n 3 -t 20000 >"$T/udp.out" &
PIDS="$PIDS $!"
udp=$!
timeout 30 "$TCPCLI" -m recv -u "$T/log.sock" -n 2 -t 20000 >"$T/unix.out" &
PIDS="$PIDS $!"
unx=$!
wait_grep bound "$T/udp.out" 50 || fail "udp receiver"
wait_grep bound "$T/unix.out" 50 || fail "unix receiver"

cat >"$T/proxyd.cfg" <<CFG
global
    log 127.0.0.1:$((P + 40)) local0
defaults
    mode tcp
    log global
    timeout connect 2s
    timeout client 10s
    timeout server 10s
listen withnull
    bind 127.0.0.1:$((P + 1))
    log $T/log.sock local1 info
    server s1 127.0.0.1:$((P + 21))
listen nonull
    bind 127.0.0.1:$((P + 2))
    option dontlognull
    server s1 127.0.0.1:$((P + 21))
CFG
"$PROXYD" -f "$T/proxyd.cfg" 2>"$T/proxyd.log" &
PROXYD_PID=$!
PIDS="$PIDS $PROXYD_PID"
# The start event goes to the global (UDP) target.
wait_grep "event=start" "$T/udp.out" 100 || fail "no start event over UDP"

# A session with data on each proxy, and a null one on each.
timeout 10 "$TCPCLI" -p $((P + 1)) -m echo -n 500 -t 5000 >/dev/null || fail "echo 1"
timeout 10 "$TCPCLI" -p $((P + 2)) -m hold -S -t 3000 >/dev/null
timeout 10 "$TCPCLI" -p $((P + 2)) -m echo -n 700 -t 5000 >/dev/null || fail "echo 2"
timeout 10 "$TCPCLI" -p $((P + 1)) -m hold -S -t 3000 >/dev/null
wait_exit "$udp" 100 || fail "UDP target got fewer than 3 lines: $(cat "$T/udp.out")"
wait_exit "$unx" 100 || fail "unix target got fewer than 2 lines: $(cat "$T/unix.out")"
cat "$T/udp.out" "$T/unix.out"

# local0.info = <134>, local1.info = <142>; "Mmm dd hh:mm:ss proxyd[pid]: ".
re_head='^dgram <1[0-9][0-9]>[A-Z][a-z][a-z] [ 0-9][0-9] [0-9][0-9]:[0-9][0-9]:[0-9][0-9] proxyd\['"$PROXYD_PID"'\]: '
grep -q "${re_head}event=start" "$T/udp.out" || fail "UDP framing"
grep "withnull withnull/s1" "$T/udp.out" | grep -q "<134>" || fail "UDP session line"
grep -q "${re_head}127.0.0.1:[0-9]* \[[0-9][0-9]/[A-Z][a-z][a-z]/20[0-9][0-9]:[0-9:.]*\] withnull withnull/s1 [0-9]*/[0-9]*/[0-9]* 500 -- [0-9/]* 0/0$" \
	"$T/unix.out" || fail "unix session line format"
grep "<142>" "$T/unix.out" | grep -q " 0 -- " || fail "the null session of withnull is logged"
grep -q "nonull nonull/s1 .* 700 --" "$T/udp.out" || fail "nonull data session not logged"
grep -q "nonull nonull/s1 .* 0 --" "$T/udp.out" && fail "dontlognull: null session logged"
stop_proxyd
echo "PASS"
