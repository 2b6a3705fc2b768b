#!/bin/sh
# HTTP errors and tunnels: 503 on a refused connect, 502 on a server that
# closes without answering and on an invalid response, 504 on a slow
# server, 408 on a slow client (timeout http-request), 400 on request
# smuggling attempts (logged with the reason), 500 on a rewrite that does
# not fit, 503 with no usable server (with an errorfile), clients that
# leave while queued (reset: always dropped; end of stream: dropped with
# option abortonclose, served without), and a WebSocket-style upgrade and a
# CONNECT echoed through tunnels (timeout tunnel). Ports 24520-24539.
. "$top_srcdir/tests/integration/http_lib.sh"
command -v python3 >/dev/null || { echo "SKIP: python3 is needed"; exit 77; }

P=24520
start_httpback $((P + 10))
start_httpback $((P + 12))
BIG=$(awk 'BEGIN { for (i = 0; i < 1100; i++) printf "x" }')
cat >"$T/proxyd.cfg" <<CFG
global
    log stderr local0
    maxconn 200
defaults
    mode http
    log global
    option httplog
    timeout connect 1s
    timeout client 10s
    timeout server 1s
    timeout http-request 1s
    timeout tunnel 2s
    retries 1
frontend fe
    bind 127.0.0.1:$((P + 1))
    acl dead path_beg /dead
    acl none path_beg /none
    acl big path_beg /big
    acl qa path_beg /qa/
    acl qn path_beg /qn/
    http-request set-header X-Big $BIG if big
    use_backend dead if dead
    use_backend none if none
    use_backend qa if qa
    use_backend qn if qn
    default_backend hb
backend hb
    server h1 127.0.0.1:$((P + 10))
backend dead
    server d1 127.0.0.1:$((P + 11))
backend qa
    option abortonclose
    timeout queue 10s
    timeout server 10s
    server q1 127.0.0.1:$((P + 12)) maxconn 1
backend qn
    timeout queue 10s
    timeout server 10s
    server q1 127.0.0.1:$((P + 12)) maxconn 1
backend none
    errorfile 503 $T/503.http
    server n1 127.0.0.1:$((P + 10)) disabled
CFG
printf 'HTTP/1.1 503 Service Unavailable\r\nContent-Length: 12\r\nConnection: close\r\n\r\nsorry, none\n' \
	>"$T/503.http"
start_proxyd "$T/proxyd.cfg"
U=http://127.0.0.1:$((P + 1))

# raw PORT: sends stdin's bytes (Python escapes) on a connection, prints
# what comes back until the server closes (at most 8 s), with a delay of
# DELAY seconds between the bytes when set.
cat >"$T/raw.py" <<'PY'
import socket, sys, time
port, delay = int(sys.argv[1]), float(sys.argv[2])
data = sys.stdin.read().encode().decode('unicode_escape').encode('latin-1')
s = socket.create_connection(("127.0.0.1", port))
s.settimeout(8)
try:
    if delay:
        for b in data:
            s.send(bytes([b])); time.sleep(delay)
    else:
        s.sendall(data)
except OSError:
    pass
out = b""
try:
    while True:
        d = s.recv(65536)
        if not d:
            break
        out += d
except OSError:
    pass
sys.stdout.write(out.decode('latin-1'))
PY
raw() {
	python3 "$T/raw.py" "$1" "${DELAY:-0}"
}

# 1. Dead server: a refused connect (after the retries) is a 503, "SC", as
# in HAProxy.
[ "$(http_status "$U/dead/x")" = 503 ] || fail "refused connect: not 503"
last_http_line '/dead/x' | grep -q ' 503 .* SC-- ' || fail "refused connect log: $(last_http_line /dead/x)"

# 2. An invalid response: 502 (PH).
[ "$(http_status "$U/bad")" = 502 ] || fail "invalid response: not 502"
last_http_line '/bad ' | grep -q ' 502 .* PH-- ' || fail "invalid response log: $(last_http_line '/bad ')"

# 2b. A server that dies with the request (closes without an answer): 502 (SH).
[ "$(http_status "$U/die")" = 502 ] || fail "server closed without answering: not 502"
last_http_line '/die ' | grep -q ' 502 .* SH-- ' || fail "dead server log: $(last_http_line '/die ')"

# 3. Slow server: 504 after timeout server (1 s).
[ "$(http_status "$U/slow?ms=3000")" = 504 ] || fail "slow server: not 504"
last_http_line '/slow' | grep -q ' 504 .* sH-- ' || fail "slow server log: $(last_http_line /slow)"

# 4. Slow client: half a head, then nothing: 408 after timeout http-request.
out=$(printf 'GET / HTTP/1.1\\r\\nHost: x\\r\\n' | raw $((P + 1)))
echo "$out" | head -n 1 | grep -q '^HTTP/1.1 408' || fail "slow client: got '$out'"
last_http_line '<BADREQ>' | grep -q ' 408 .* cR-- ' || fail "408 log: $(last_http_line '<BADREQ>')"
# Slowloris: one byte every 0.2 s never completes a head within 1 s.
out=$(printf 'GET / HTTP/1.1\\r\\nHost: x\\r\\nX-A: b\\r\\n\\r\\n' | DELAY=0.2 raw $((P + 1)))
echo "$out" | head -n 1 | grep -q '^HTTP/1.1 408' || fail "slowloris: got '$out'"

# 5. Smuggling: each is answered 400 and logged with its reason.
n0=$(grep -c 'event=http_bad_request' "$T/proxyd.log")
for req in \
	'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n' \
	'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nContent-Length: 5\r\n\r\nabcde' \
	'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n' \
	'GET / HTTP/1.1\r\nHost: x\r\nX-A: b\r\n c\r\n\r\n' \
	'GET / HTTP/1.1\r\nHost: x\rX-A: b\r\n\r\n' \
	'GET / HTTP/1.2\r\nHost: x\r\n\r\n' \
	'POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n'; do
	out=$(printf '%s' "$req" | raw $((P + 1)))
	echo "$out" | head -n 1 | grep -q '^HTTP/1.1 400' || fail "not rejected: $req -> $out"
done
n1=$(grep -c 'event=http_bad_request' "$T/proxyd.log")
[ $((n1 - n0)) = 7 ] || fail "$((n1 - n0)) of 7 rejections logged"
grep 'event=http_bad_request' "$T/proxyd.log" | grep -q 'reason="content-length and transfer-encoding"' ||
	fail "no reason in the rejection line"
# The server never saw any of them (the chunked one has a bad size: the
# head passes, the body is refused before the server answers, or after).
grep -c 'PR-- ' "$T/proxyd.log" >/dev/null || fail "no PR-- log lines"

# 5a. A head larger than tune.bufsize - tune.maxrewrite (default 16384 -
# 1024): 400, as HAProxy, logged as too large.
LONG=$(head -c 12000 /dev/zero | base64 -w0)
[ "$(curl -s --max-time 5 -o /dev/null -w '%{http_code}' -H "X-Long: $LONG" "$U/")" = 400 ] ||
	fail "16 kB head not refused with 400"
wait_grep 'reason="headers too large"' "$T/proxyd.log" 30 || fail "too large head not logged"

# 5b. A rewrite that does not fit in tune.maxrewrite (1024): 500.
[ "$(http_status "$U/big")" = 500 ] || fail "rewrite overflow: not 500"
last_http_line '"GET /big ' | grep -q ' 500 ' || fail "500 log: $(last_http_line '"GET /big ')"

# 6. No usable server: 503 (SC, <NOSRV>).
[ "$(http_status "$U/none/x")" = 503 ] || fail "no server: not 503"
last_http_line '/none/x' | grep -q 'none/<NOSRV>' || fail "no server log: $(last_http_line /none/x)"
[ "$(curl -s --max-time 5 "$U/none/x")" = "sorry, none" ] || fail "errorfile not used"

# 6b. Clients that leave while queued behind a slow request (server
# maxconn 1). leave PATH HOW: HOW is "rst" (reset) or "fin" (end of stream
# after the head); prints the status received, or "none".
cat >"$T/leave.py" <<'PY'
import socket, struct, sys, time
port, path, how = int(sys.argv[1]), sys.argv[2], sys.argv[3]
s = socket.create_connection(("127.0.0.1", port))
s.settimeout(8)
s.sendall(("GET %s HTTP/1.1\r\nHost: x\r\n\r\n" % path).encode())
time.sleep(0.3)
if how == "rst":
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()
    print("none")
    sys.exit(0)
s.shutdown(socket.SHUT_WR)
out = b""
try:
    while True:
        d = s.recv(4096)
        if not d:
            break
        out += d
except OSError:
    pass
print(out.split(b" ")[1].decode() if out.startswith(b"HTTP/1.1 ") else "none")
PY
leave_queued() { # BACKEND HOW
	curl -s -o /dev/null --max-time 8 "$U/$1/slow?ms=1500" &
	_busy=$!
	sleep 0.3
	python3 "$T/leave.py" $((P + 1)) "/$1/left-$2" "$2"
	wait $_busy
}
n0=$(nconn "$T/hb.$((P + 12)).conn")
[ "$(leave_queued qa fin)" = none ] || fail "abortonclose: a half-closed client was answered"
last_http_line '/qa/left-fin' | grep -q ' CQ-- ' || fail "abortonclose log: $(last_http_line /qa/left-fin)"
[ "$(leave_queued qn rst)" = none ] || fail "reset client"
last_http_line '/qn/left-rst' | grep -q ' CQ-- ' || fail "reset while queued: $(last_http_line /qn/left-rst)"
# Neither reached the server: one connection for each slow request only.
[ "$(nconn "$T/hb.$((P + 12)).conn")" = $((n0 + 2)) ] || fail "a dropped request reached the server"
[ "$(leave_queued qn fin)" = 200 ] || fail "without abortonclose, a half-closed client is served"
last_http_line '/qn/left-fin' | grep -q ' 200 ' || fail "served log: $(last_http_line /qn/left-fin)"

# 7. Upgrade: 101, then bytes both ways through the tunnel.
out=$(printf 'GET /ws HTTP/1.1\\r\\nHost: x\\r\\nConnection: Upgrade\\r\\nUpgrade: websocket\\r\\n\\r\\nping-through-the-tunnel' |
	python3 -c '
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.settimeout(5)
s.sendall(sys.stdin.read().encode().decode("unicode_escape").encode())
out = b""
while b"ping-through-the-tunnel" not in out:
    d = s.recv(4096)
    if not d: break
    out += d
time.sleep(0.2)
s.sendall(b"second")
while not out.endswith(b"second"):
    d = s.recv(4096)
    if not d: break
    out += d
sys.stdout.write(out.decode())' $((P + 1)))
echo "$out" | head -n 1 | grep -q '^HTTP/1.1 101' || fail "upgrade: got '$out'"
echo "$out" | grep -q 'ping-through-the-tunnelsecond$' || fail "tunnel did not echo: '$out'"
wait_grep '"GET /ws HTTP/1.1"' "$T/proxyd.log" 30 || fail "no log line for the tunnel"
last_http_line '/ws' | grep -q ' 101 ' || fail "tunnel log: $(last_http_line /ws)"

# An idle tunnel ends after timeout tunnel (2 s), not timeout client (10 s).
python3 - $((P + 1)) <<'PY' || fail "idle tunnel not closed by timeout tunnel"
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.settimeout(8)
s.sendall(b"GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n")
out = b""
while b"\r\n\r\n" not in out:
    out += s.recv(4096)
t = time.time()
while s.recv(4096):
    pass
dt = time.time() - t
sys.exit(0 if 1.5 < dt < 4 else 1)
PY

# 7b. CONNECT: 200, then a tunnel too.
out=$(printf 'CONNECT example.org:443 HTTP/1.1\r\nHost: example.org:443\r\n\r\nthrough-connect' |
	python3 -c '
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.settimeout(5)
s.sendall(sys.stdin.read().encode().decode("unicode_escape").encode())
out = b""
while not out.endswith(b"through-connect"):
    d = s.recv(4096)
    if not d: break
    out += d
sys.stdout.write(out.decode())' $((P + 1)))
echo "$out" | head -n 1 | grep -q '^HTTP/1.1 200' || fail "CONNECT: got '$out'"
echo "$out" | grep -q 'through-connect$' || fail "CONNECT tunnel did not echo: '$out'"

stop_proxyd
echo "PASS"
