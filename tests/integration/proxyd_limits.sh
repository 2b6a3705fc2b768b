#!/bin/sh
# Connection limits: frontend and global maxconn stop accepting at the
# limit and resume below it; server maxconn queues sessions and serves them
# in order; running out of fds pauses accepting (logged once) instead of
# spinning. Ports 22100-22149.
. "$top_srcdir/tests/integration/proxyd_lib.sh"

P=22100
cat >"$T/proxyd.cfg" <<CFG
global
    log stderr local0
    maxconn 5
defaults
    mode tcp
    log global
    timeout connect 2s
    timeout client 10s
    timeout server 10s
listen femax
    bind 127.0.0.1:$((P + 1))
    maxconn 2
    server s1 127.0.0.1:$((P + 21))
listen other
    bind 127.0.0.1:$((P + 2))
    server s1 127.0.0.1:$((P + 21))
listen queued
    bind 127.0.0.1:$((P + 3))
    timeout queue 5s
    server s1 127.0.0.1:$((P + 21)) maxconn 1
CFG

start_back $((P + 21)) echo
start_proxyd "$T/proxyd.cfg"
L=$T/proxyd.log

# bg_hold PORT MS: a client holding a session for MS ms; its pid in $BG.
bg_hold() {
	timeout 30 "$TCPCLI" -p "$1" -m hold -t "$2" >/dev/null &
	BG=$!
	PIDS="$PIDS $BG"
}

# 1. Frontend maxconn 2: a third client is not accepted until one leaves.
bg_hold $((P + 1)) 1500
bg_hold $((P + 1)) 20000
h2=$BG
wait_conns $((P + 21)) 2 || fail "femax: holders not connected"
timeout 30 "$TCPCLI" -p $((P + 1)) -m echo -n 100 -t 10000 >"$T/third.out" &
third=$!
PIDS="$PIDS $third"
sleep 0.7
kill -0 "$third" 2>/dev/null || fail "femax: third client served above maxconn: $(cat "$T/third.out")"
[ "$(grep -c '\] femax ' "$L")" = 0 ] || fail "femax: a session ended early"
# The first holder leaves at 1.5 s: the third is accepted and served.
wait_exit "$third" 60 || fail "femax: third client not served after a slot freed"
[ "$EXIT_STATUS" = 0 ] || fail "femax: third client failed: $(cat "$T/third.out")"
echo "femax: $(cat "$T/third.out")"
kill "$h2" 2>/dev/null

# 2. Global maxconn 5 across frontends: 5 holders, the sixth waits.
wait_conns_below() {
	_n=0
	while [ "$(ss -Htn state established "( dport = :$1 )" | wc -l)" -gt "$2" ]; do
		_n=$((_n + 1))
		[ "$_n" -gt 100 ] && return 1
		sleep 0.05
	done
}
wait_conns_below $((P + 21)) 0 || fail "femax sessions did not end"
for i in 1 2 3 4 5; do bg_hold $((P + 2)) 1500; done
wait_conns $((P + 21)) 5 || fail "global: holders not connected"
timeout 30 "$TCPCLI" -p $((P + 2)) -m echo -n 100 -t 10000 >"$T/sixth.out" &
sixth=$!
PIDS="$PIDS $sixth"
sleep 0.6
kill -0 "$sixth" 2>/dev/null || fail "global maxconn: sixth client served: $(cat "$T/sixth.out")"
wait_exit "$sixth" 60 || fail "global maxconn: sixth client never served"
[ "$EXIT_STATUS" = 0 ] || fail "global maxconn: sixth failed: $(cat "$T/sixth.out")"
echo "global: $(cat "$T/sixth.out")"
wait_conns_below $((P + 21)) 0 || fail "global sessions did not end"

# 3. Server maxconn 1: the second session is queued, then served once the
# first leaves; its Tw shows the wait.
bg_hold $((P + 3)) 1000
wait_conns $((P + 21)) 1 || fail "queued: holder not connected"
out=$(timeout 30 "$TCPCLI" -p $((P + 3)) -m echo -n 100 -s 4 -t 10000) || fail "queued: $out"
wait_grep '\] queued queued/s1 .* -- .*/0 0/0$' "$L" 30 || true
tw=$(grep '\] queued queued/s1' "$L" | grep ' 100 -- ' | tail -n 1 | awk '{ print $5 }' | cut -d/ -f1)
echo "queued: $out Tw=$tw"
[ -n "$tw" ] && in_range "$tw" 500 3000 || fail "queued: Tw '$tw' does not show the wait"
stop_proxyd

# 4. Out of fds: ulimit-n 40 leaves room for about 15 sessions; 30 clients
# push accept into EMFILE. proxyd pauses (one log line per pause), does not
# spin, and serves again once the clients are gone.
cat >"$T/fd.cfg" <<CFG
global
    log stderr local0
    ulimit-n 40
    maxconn 1000
defaults
    mode tcp
    log global
    timeout connect 2s
    timeout client 10s
    timeout server 10s
listen fd
    bind 127.0.0.1:$((P + 4))
    server s1 127.0.0.1:$((P + 21))
CFG
start_proxyd "$T/fd.cfg" "$T/fd.log"
grep -q "event=maxconn_fds" "$T/fd.log" || fail "no warning that maxconn needs more fds"
i=0
while [ $i -lt 30 ]; do bg_hold $((P + 4)) 2000; i=$((i + 1)); done
wait_grep "event=accept_pause" "$T/fd.log" 50 || fail "no accept pause logged"
t0=$(awk '{ print $14 + $15 }' /proc/"$PROXYD_PID"/stat)
sleep 1
t1=$(awk '{ print $14 + $15 }' /proc/"$PROXYD_PID"/stat)
echo "fd: cpu ticks during 1 s of exhaustion: $((t1 - t0))"
[ $((t1 - t0)) -lt 30 ] || fail "proxyd spins while out of fds ($((t1 - t0)) ticks/s)"
sleep 2
out=$(timeout 30 "$TCPCLI" -p $((P + 4)) -m echo -n 1000 -t 10000) || fail "fd: not serving after exhaustion: $out"
pauses=$(grep -c "event=accept_pause" "$T/fd.log")
resumes=$(grep -c "event=accept_resume" "$T/fd.log")
echo "fd: pauses=$pauses resumes=$resumes"
[ "$pauses" -ge 1 ] && [ "$pauses" -le 30 ] || fail "fd: $pauses pause lines"
kill -0 "$PROXYD_PID" || fail "proxyd died"
stop_proxyd "$T/fd.log"
echo "PASS"
