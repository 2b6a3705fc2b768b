#!/bin/sh
# proxyd forwards byte-exact in both directions (large random streams),
# passes half-closes each way, and propagates resets. Ports 22000-22019.
. "$top_srcdir/tests/integration/proxyd_lib.sh"

P=22000
cat >"$T/proxyd.cfg" <<CFG
global
    log stderr local0
    maxconn 200
defaults
    mode tcp
    log global
    timeout connect 2s
    timeout client 20s
    timeout server 20s
listen echo
    bind 127.0.0.1:$((P + 1))
    server s1 127.0.0.1:$((P + 11))
listen source
    bind 127.0.0.1:$((P + 2))
    server s1 127.0.0.1:$((P + 12))
listen sink
    bind 127.0.0.1:$((P + 3))
    server s1 127.0.0.1:$((P + 13))
listen half
    bind 127.0.0.1:$((P + 4))
    server s1 127.0.0.1:$((P + 14))
listen reset
    bind 127.0.0.1:$((P + 5))
    server s1 127.0.0.1:$((P + 15))
listen clireset
    bind 127.0.0.1:$((P + 6))
    server s1 127.0.0.1:$((P + 16))
CFG

BIG=${PROXYD_IT_BYTES:-209715200}
start_back $((P + 11)) echo
start_back $((P + 12)) source -n "$BIG" -s 7
start_back $((P + 13)) sink -s 9
start_back $((P + 14)) halfclose -n 100000 -s 3
start_back $((P + 15)) reset -n 1
start_back $((P + 16)) watch -o "$T/watch.out"
start_proxyd "$T/proxyd.cfg"

# 1. The same 200 MB go up and come back, checked byte by byte.
out=$(timeout 120 "$TCPCLI" -p $((P + 1)) -m echo -n "$BIG" -s 5 -t 110000) ||
	fail "echo: $out"
echo "echo: $out"
wait_grep "echo echo/s1" "$T/proxyd.log" 50 || fail "no log line for echo"
[ "$(log_field 'echo echo/s1' "$T/proxyd.log" 7)" = "--" ] || fail "echo: termination not --"
[ "$(log_field 'echo echo/s1' "$T/proxyd.log" 6)" = "$BIG" ] || fail "echo: bytes_read"

# 2. Server to client only: 200 MB then the server's FIN.
out=$(timeout 120 "$TCPCLI" -p $((P + 2)) -m source -n "$BIG" -s 7 -t 110000) ||
	fail "source: $out"
echo "source: $out"

# 3. Client to server only; the client's FIN reaches the server, which
# answers after it (half-close client -> server).
out=$(timeout 120 "$TCPCLI" -p $((P + 3)) -m sink -n "$BIG" -s 9 -t 110000) ||
	fail "sink: $out"
echo "sink: $out"

# 4. Half-close server -> client: the server sends 100000 bytes and its FIN
# but keeps reading; the client receives everything and the end of stream
# while its own direction stays open, then closes; the session ends "--".
out=$(timeout 20 "$TCPCLI" -p $((P + 4)) -m source -n 100000 -s 3 -t 10000) ||
	fail "halfclose: $out"
echo "halfclose: $out"
wait_grep "half half/s1" "$T/proxyd.log" 50 || fail "no log line for half"
[ "$(log_field 'half half/s1' "$T/proxyd.log" 7)" = "--" ] || fail "half: termination not --"

# 5. The server resets after the first byte: the client must see a reset,
# and the log says SD.
out=$(timeout 20 "$TCPCLI" -p $((P + 5)) -m hold -n 10 -t 5000)
echo "reset: $out"
case "$out" in
closed=rst*) ;;
*) fail "reset: client did not see a reset: $out" ;;
esac
wait_grep "reset reset/s1" "$T/proxyd.log" 50 || fail "no log line for reset"
[ "$(log_field 'reset reset/s1' "$T/proxyd.log" 7)" = "SD" ] || fail "reset: termination not SD"

# 6. The client resets: the server must see a reset too (not a clean end),
# and the log says CD.
out=$(timeout 20 "$TCPCLI" -p $((P + 6)) -m hold -n 100 -X -t 300)
wait_file "$T/watch.out" 50 || fail "clireset: server saw nothing"
wait_grep "clireset clireset/s1" "$T/proxyd.log" 50 || fail "no log line for clireset"
echo "clireset: server saw $(cat "$T/watch.out")"
grep -q "^rst 100$" "$T/watch.out" || fail "clireset: server did not see a reset: $(cat "$T/watch.out")"
[ "$(log_field 'clireset clireset/s1' "$T/proxyd.log" 7)" = "CD" ] || fail "clireset: termination not CD"

stop_proxyd
echo "PASS"
