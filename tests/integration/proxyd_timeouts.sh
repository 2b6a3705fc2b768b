#!/bin/sh
# Each timeout fires when it should: client, server, client-fin, server-fin,
# tunnel, connect (with retries), queue; refused connects are retried after
# the turnaround pause and redispatched. Timeouts are 300 ms, bounds are
# generous. Ports 22050-22099.
. "$top_srcdir/tests/integration/proxyd_lib.sh"

P=22050
cat >"$T/proxyd.cfg" <<CFG
global
    log stderr local0
defaults
    mode tcp
    log global
    retries 0
    timeout connect 2s
    timeout client 10s
    timeout server 10s
listen cli_to
    bind 127.0.0.1:$((P + 1))
    timeout client 300ms
    server s1 127.0.0.1:$((P + 21))
listen srv_to
    bind 127.0.0.1:$((P + 2))
    timeout server 300ms
    server s1 127.0.0.1:$((P + 22))
listen cli_fin
    bind 127.0.0.1:$((P + 3))
    timeout client-fin 300ms
    server s1 127.0.0.1:$((P + 23))
listen srv_fin
    bind 127.0.0.1:$((P + 4))
    timeout server-fin 300ms
    server s1 127.0.0.1:$((P + 22))
listen tunnel
    bind 127.0.0.1:$((P + 5))
    timeout client 300ms
    timeout server 300ms
    timeout tunnel 1500ms
    server s1 127.0.0.1:$((P + 22))
listen conn_to
    bind 127.0.0.1:$((P + 6))
    timeout connect 300ms
    retries 1
    server s1 127.0.0.1:$((P + 24))
listen queue_to
    bind 127.0.0.1:$((P + 7))
    timeout queue 300ms
    server s1 127.0.0.1:$((P + 22)) maxconn 1
listen refused
    bind 127.0.0.1:$((P + 8))
    timeout connect 300ms
    retries 2
    server s1 127.0.0.1:$((P + 29))
listen slow
    bind 127.0.0.1:$((P + 10))
    timeout client 1500ms
    timeout server 1500ms
    server s1 127.0.0.1:$((P + 26))
listen redisp
    bind 127.0.0.1:$((P + 9))
    retries 1
    option redispatch
    server dead 127.0.0.1:$((P + 29))
    server live 127.0.0.1:$((P + 25))
CFG

start_back $((P + 21)) echo
start_back $((P + 22)) hang
start_back $((P + 23)) halfclose -n 10 -s 1
start_back $((P + 24)) full
start_back $((P + 25)) echo
start_back $((P + 26)) source -n 16000000 -s 8
start_proxyd "$T/proxyd.cfg"
L=$T/proxyd.log

# expect NAME TERM TT_LOW TT_HIGH: the last session line of NAME.
expect() {
	wait_grep "\] $1 $1/" "$L" 50 || fail "$1: no session line"
	term=$(log_field "\] $1 $1/" "$L" 7)
	tt=$(log_tt "\] $1 $1/" "$L")
	echo "$1: term=$term Tt=$tt"
	[ "$term" = "$2" ] || fail "$1: termination $term, expected $2"
	in_range "$tt" "$3" "$4" || fail "$1: Tt $tt not in [$3, $4]"
}

# client: an idle client is closed after timeout client (cD).
out=$(timeout 20 "$TCPCLI" -p $((P + 1)) -m hold -t 5000)
case "$out" in closed=eof*) ;; *) fail "cli_to: $out" ;; esac
expect cli_to cD 250 1500

# server: a server that never answers (sD).
timeout 20 "$TCPCLI" -p $((P + 2)) -m hold -n 10 -t 5000 >/dev/null
expect srv_to sD 250 1500

# client-fin: the server sent its data and FIN; the client never closes
# its side. Without client-fin this would last `timeout client` (10 s).
timeout 20 "$TCPCLI" -p $((P + 3)) -m hold -K -t 3000 >/dev/null &
PIDS="$PIDS $!"
expect cli_fin cD 250 1500
# The pair of the first incident is gone with the session: no CLOSE_WAIT
# left towards the server (the client still holds its end open).
sleep 0.2
cw=$(ss -Htn state close-wait "( dport = :$((P + 23)) )" | wc -l)
[ "$cw" = 0 ] || fail "cli_fin: $cw CLOSE_WAIT sockets left towards the server"

# server-fin: the client sent its FIN; the server never closes its side.
timeout 20 "$TCPCLI" -p $((P + 4)) -m hold -S -K -t 3000 >/dev/null &
PIDS="$PIDS $!"
expect srv_fin sD 250 1500

# tunnel: once connected, timeout tunnel (1.5 s) replaces client/server
# (300 ms).
timeout 20 "$TCPCLI" -p $((P + 5)) -m hold -t 6000 >/dev/null
expect tunnel cD 1300 3000

# connect: SYNs get no answer; retries 1 -> two attempts of 300 ms (sC),
# the retry counted in the log.
out=$(timeout 20 "$TCPCLI" -p $((P + 6)) -m hold -t 5000)
expect conn_to sC 550 2000
[ "$(log_field '\] conn_to conn_to/' "$L" 8 | cut -d/ -f5)" = 1 ] || fail "conn_to: retries not 1"
[ "$(log_field '\] conn_to conn_to/' "$L" 5 | cut -d/ -f2)" = -1 ] || fail "conn_to: Tc not -1"

# queue: the only slot is held; the second session waits timeout queue (sQ).
timeout 20 "$TCPCLI" -p $((P + 7)) -m hold -t 4000 >/dev/null &
PIDS="$PIDS $!"
wait_conns $((P + 22)) 1 || fail "queue_to: holder not connected"
timeout 20 "$TCPCLI" -p $((P + 7)) -m hold -t 4000 >/dev/null
expect queue_to sQ 250 1500
tw=$(log_field '\] queue_to queue_to/' "$L" 5 | cut -d/ -f1)
in_range "$tw" 250 1500 || fail "queue_to: Tw $tw"

# refused: three attempts, each refused, with a turnaround of
# min(timeout connect, 1 s) = 300 ms between them (SC, retries 2).
timeout 20 "$TCPCLI" -p $((P + 8)) -m hold -t 5000 >/dev/null
expect refused SC 550 2500
[ "$(log_field '\] refused refused/' "$L" 8 | cut -d/ -f5)" = 2 ] || fail "refused: retries not 2"

# redispatch: sessions sent to the dead server are redispatched to the
# live one on the last retry; every client gets its echo.
for i in 1 2 3 4; do
	out=$(timeout 20 "$TCPCLI" -p $((P + 9)) -m echo -n 1000 -s "$i" -t 5000) ||
		fail "redisp $i: $out"
done
grep -q "\] redisp redisp/live .* --.*/+1 " "$L" || fail "redisp: no redispatched session logged"

# A slow reader that keeps reading is not idle: 16 MB at 4 MB/s (about
# 4 s) through 1.5 s client and server timeouts. The client's small
# receive buffer makes the data wait in the proxy, which holds the server
# back: the timeouts must follow the progress, not the server's silence.
# (The proxy sees progress only when the kernel reports room, after up to
# half of its send buffer drained: about 0.5 s here, hence 1.5 s.)
out=$(timeout 30 "$TCPCLI" -p $((P + 10)) -m source -n 16000000 -s 8 -r 4000 -b 16384 -t 20000) ||
	fail "slow reader cut: $out"
echo "slow: $out"
expect slow -- 3000 15000

stop_proxyd
echo "PASS"
