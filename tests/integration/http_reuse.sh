#!/bin/sh
# Server connection reuse (http-reuse safe / always / never, counted at the
# server), http-server-close, timeout http-keep-alive, HTTP health checks
# (option httpchk, http-check expect), cookie persistence (cookie NAME
# insert indirect nocache), the statistics page (stats uri, auth, ;csv)
# and the HTTP columns of show stat (hrsp_*, req_tot, check_status,
# check_code). Ports 24540-24559.
. "$top_srcdir/tests/integration/http_lib.sh"
command -v socat >/dev/null || { echo "SKIP: socat is needed"; exit 77; }

P=24540
for i in 10 11 12 13 14 15 16; do start_httpback $((P + i)); done
STATS=$T/stats.sock
cat >"$T/proxyd.cfg" <<CFG
global
    log stderr local0
    maxconn 200
    nbthread 2
    stats socket $STATS mode 600 level admin
defaults
    mode http
    log global
    option httplog
    timeout connect 2s
    timeout client 10s
    timeout server 10s
    timeout http-keep-alive 500ms
listen safe
    bind 127.0.0.1:$((P + 1))
    server s 127.0.0.1:$((P + 10))
listen always
    bind 127.0.0.1:$((P + 2))
    http-reuse always
    server s 127.0.0.1:$((P + 11))
listen never
    bind 127.0.0.1:$((P + 3))
    http-reuse never
    server s 127.0.0.1:$((P + 12))
listen scl
    bind 127.0.0.1:$((P + 4))
    option http-server-close
    server s 127.0.0.1:$((P + 13))
listen ck
    bind 127.0.0.1:$((P + 6))
    cookie SRV insert indirect nocache httponly
    server a 127.0.0.1:$((P + 15)) cookie ca
    server b 127.0.0.1:$((P + 16)) cookie cb
listen st
    bind 127.0.0.1:$((P + 7))
    stats enable
    stats uri /st
    stats realm Proxyd\ stats
    stats auth admin:pw
    stats refresh 5s
listen chk
    bind 127.0.0.1:$((P + 5))
    option httpchk GET /health
    http-check expect status 200
    server ok 127.0.0.1:$((P + 14)) check inter 200 rise 1 fall 1
CFG
start_proxyd "$T/proxyd.cfg"
stat() { printf 'show stat\n' | timeout 5 socat -t 5 stdio "UNIX-CONNECT:$STATS"; }

# col NAME LINE: the value of CSV column NAME (from the header) in LINE.
col() {
	stat | awk -F, -v name="$1" -v row="$2" '
		NR == 1 { sub(/^# /, ""); for (i = 1; i <= NF; i++) c[$i] = i; next }
		($1 "," $2) == row { print $(c[name]) }'
}

# 1. safe: with keep-alive clients, each client's requests share one
# server connection; ten clients one request each: ten connections
# (the first request of a session never takes another's connection).
c0=$(nconn "$T/hb.$((P + 10)).conn")
curl -s --max-time 10 -o /dev/null -o /dev/null -o /dev/null -o /dev/null \
	"http://127.0.0.1:$((P + 1))/"{a,b,c,d} || fail "safe keep-alive"
c1=$(nconn "$T/hb.$((P + 10)).conn")
[ $((c1 - c0)) = 1 ] || fail "safe: 4 requests on one client used $((c1 - c0)) server connections"
for i in 1 2 3 4 5 6 7 8 9 10; do curl -s -o /dev/null --max-time 5 "http://127.0.0.1:$((P + 1))/x$i"; done
c2=$(nconn "$T/hb.$((P + 10)).conn")
[ $((c2 - c1)) = 10 ] || fail "safe: 10 first requests used $((c2 - c1)) connections, not 10"

# 2. always: ten successive clients reuse the pooled connections: each of
# the two threads keeps its own pool, so at most one connection per thread.
c0=$(nconn "$T/hb.$((P + 11)).conn")
for i in 1 2 3 4 5 6 7 8 9 10; do curl -s -o /dev/null --max-time 5 "http://127.0.0.1:$((P + 2))/x$i"; done
c1=$(nconn "$T/hb.$((P + 11)).conn")
[ $((c1 - c0)) -ge 1 ] && [ $((c1 - c0)) -le 2 ] ||
	fail "always: 10 clients used $((c1 - c0)) server connections, not 1 per thread (2 threads)"

# 3. never: a client's own connection still serves its next requests, but
# no connection passes to another client.
c0=$(nconn "$T/hb.$((P + 12)).conn")
curl -s --max-time 10 -o /dev/null -o /dev/null -o /dev/null "http://127.0.0.1:$((P + 3))/"{a,b,c} ||
	fail "never"
c1=$(nconn "$T/hb.$((P + 12)).conn")
[ $((c1 - c0)) = 1 ] || fail "never: 3 requests of one client used $((c1 - c0)) server connections"
for i in 1 2 3 4 5; do curl -s -o /dev/null --max-time 5 "http://127.0.0.1:$((P + 3))/x$i"; done
c2=$(nconn "$T/hb.$((P + 12)).conn")
[ $((c2 - c1)) = 5 ] || fail "never: 5 clients used $((c2 - c1)) server connections, not 5"

# 4. http-server-close: the client keeps its connection, the server side
# closes after each response.
curl -s --max-time 10 -o /dev/null -o /dev/null -o /dev/null -w '%{num_connects}\n' \
	"http://127.0.0.1:$((P + 4))/"{a,b,c} >"$T/scl.n" || fail "server-close"
[ "$(paste -sd+ "$T/scl.n" | bc)" = 1 ] || fail "server-close: the client reconnected"
[ "$(nconn "$T/hb.$((P + 13)).conn")" = 3 ] || fail "server-close: $(nconn "$T/hb.$((P + 13)).conn") server connections for 3 requests"

# 4b. A reused connection the server closes as the next request arrives:
# the bodiless request goes again over a new connection, the client sees
# nothing of it.
curl -s --max-time 10 -o "$T/once1" -o "$T/once2" -w '%{http_code}\n' \
	"http://127.0.0.1:$((P + 1))/once" "http://127.0.0.1:$((P + 1))/after" >"$T/once.codes" ||
	fail "requests after a dropped connection"
[ "$(paste -sd' ' "$T/once.codes")" = "200 200" ] || fail "retry on a new connection: $(cat "$T/once.codes")"
last_http_line '"GET /after' | grep -q ' 200 ' || fail "retried request log: $(last_http_line '"GET /after')"

# 5. timeout http-keep-alive: an idle client connection is closed after 500 ms.
python3 - $((P + 1)) <<'PY' || fail "keep-alive timeout not applied"
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
s.settimeout(5)
data = s.recv(4096)
assert data.startswith(b"HTTP/1.1 200"), data
t = time.time()
while s.recv(4096):
    pass
dt = time.time() - t
sys.exit(0 if 0.3 < dt < 2.5 else 1)
PY

# 6. HTTP checks: /health answers 200 (L7OK, code 200).
sleep 1
[ "$(col check_status chk,ok)" = L7OK ] || { stat; fail "check_status of chk/ok: $(col check_status chk,ok)"; }
[ "$(col check_code chk,ok)" = 200 ] || fail "check_code of chk/ok: $(col check_code chk,ok)"

# 6b. Cookie persistence. No cookie: one is inserted (HttpOnly, with
# Cache-Control: private), log "NI".
CK=http://127.0.0.1:$((P + 6))
curl -s --max-time 5 -D "$T/ck.h" -o /dev/null "$CK/hdr" || fail "GET ck"
grep -Eqi '^Set-Cookie: SRV=c[ab]; path=/; HttpOnly' "$T/ck.h" || fail "no cookie inserted: $(cat "$T/ck.h")"
grep -qi '^Cache-Control: private' "$T/ck.h" || fail "nocache: no Cache-Control: private"
last_http_line '"GET /hdr HTTP/1.1"' | grep -q ' --NI ' || fail "cookie log NI: $(last_http_line '"GET /hdr HTTP/1.1"')"
# The cookie of b: every request goes to b, the server does not see the
# cookie (indirect) but sees the others, and no Set-Cookie comes back.
nb0=$(nconn "$T/hb.$((P + 16)).conn") na0=$(nconn "$T/hb.$((P + 15)).conn")
for i in 1 2 3 4; do
	curl -s --max-time 5 -D "$T/ck.h" -o "$T/ck.out" -H 'Cookie: x=1; SRV=cb; y=2' "$CK/hdr?v$i" ||
		fail "GET ck with cookie"
done
[ "$(nconn "$T/hb.$((P + 16)).conn")" = $((nb0 + 4)) ] && [ "$(nconn "$T/hb.$((P + 15)).conn")" = "$na0" ] ||
	fail "persistence: b $(nconn "$T/hb.$((P + 16)).conn") (was $nb0), a $(nconn "$T/hb.$((P + 15)).conn") (was $na0)"
grep -q '^Cookie: x=1; y=2.$' "$T/ck.out" || fail "indirect: server saw $(grep -i '^cookie' "$T/ck.out")"
grep -qi '^Set-Cookie' "$T/ck.h" && fail "indirect: a valid cookie got a Set-Cookie"
last_http_line '"GET /hdr?v4 HTTP/1.1"' | grep -q ' ck/b .* --VN ' || fail "cookie log VN: $(last_http_line '"GET /hdr?v4 HTTP/1.1"')"
# An unknown value: load balancing, and a new cookie (I/I).
curl -s --max-time 5 -D "$T/ck.h" -o /dev/null -H 'Cookie: SRV=zz' "$CK/hdr?bad" || fail "GET bad cookie"
grep -Eqi '^Set-Cookie: SRV=c[ab];' "$T/ck.h" || fail "unknown cookie: none inserted"
last_http_line '"GET /hdr?bad HTTP/1.1"' | grep -q ' --II ' || fail "cookie log II: $(last_http_line '"GET /hdr?bad HTTP/1.1"')"
# Its server in maintenance: another one, and its cookie (D/I).
printf 'disable server ck/b\n' | timeout 5 socat -t 5 stdio "UNIX-CONNECT:$STATS" >/dev/null
curl -s --max-time 5 -D "$T/ck.h" -o /dev/null -H 'Cookie: SRV=cb' "$CK/hdr?down" || fail "GET down cookie"
grep -qi '^Set-Cookie: SRV=ca;' "$T/ck.h" || fail "down server: $(grep -i '^Set-Cookie' "$T/ck.h")"
last_http_line '"GET /hdr?down HTTP/1.1"' | grep -q ' ck/a .* --DI ' || fail "cookie log DI: $(last_http_line '"GET /hdr?down HTTP/1.1"')"
printf 'enable server ck/b\n' | timeout 5 socat -t 5 stdio "UNIX-CONNECT:$STATS" >/dev/null

# 6c. The statistics page: 401 without credentials (with the realm),
# HTML and CSV with them, from either thread (new connections alternate).
ST=http://127.0.0.1:$((P + 7))
curl -s --max-time 5 -D "$T/st.h" -o /dev/null "$ST/st" || fail "GET /st"
head -n 1 "$T/st.h" | grep -q '^HTTP/1.1 401 ' || fail "stats without auth: $(head -n 1 "$T/st.h")"
grep -qi '^WWW-Authenticate: Basic realm="Proxyd stats"' "$T/st.h" || fail "no realm: $(cat "$T/st.h")"
[ "$(curl -s --max-time 5 -o /dev/null -w '%{http_code}' -u admin:no "$ST/st")" = 401 ] ||
	fail "stats with a wrong password"
for i in 1 2 3 4; do
	curl -s --max-time 5 -D "$T/st.h" -o "$T/st.html" -u admin:pw "$ST/st" || fail "GET /st with auth"
	head -n 1 "$T/st.h" | grep -q '^HTTP/1.1 200 ' || fail "stats page: $(head -n 1 "$T/st.h")"
	grep -q '<h2>safe</h2>' "$T/st.html" && grep -q '<h2>ck</h2>' "$T/st.html" ||
		fail "stats page without the proxies"
	grep -q 'http-equiv="refresh" content="5"' "$T/st.html" || fail "stats refresh"
	[ "$(grep -i '^Content-Length:' "$T/st.h" | tr -dc 0-9)" = "$(wc -c <"$T/st.html" | tr -d ' ')" ] ||
		fail "stats page length"
done
curl -s --max-time 5 -o "$T/st.csv" -u admin:pw "$ST/st;csv" || fail "GET /st;csv"
head -n 1 "$T/st.csv" | grep -q '^# pxname,svname,qcur,' || fail "CSV header: $(head -n 1 "$T/st.csv")"
grep -q '^safe,FRONTEND,' "$T/st.csv" && grep -q '^ck,b,' "$T/st.csv" || fail "CSV lines"
last_http_line '"GET /st;csv HTTP/1.1"' | grep -q ' 200 .* LR-- ' || fail "stats log: $(last_http_line '"GET /st;csv')"
# Anything else on that listen has no server.
[ "$(http_status "$ST/other")" = 503 ] || fail "a non-stats request on the stats listen"

# 7. show stat: responses by class and requests.
curl -s -o /dev/null "http://127.0.0.1:$((P + 1))/bad" # 502
fe_2xx=$(col hrsp_2xx safe,FRONTEND)
fe_5xx=$(col hrsp_5xx safe,FRONTEND)
fe_req=$(col req_tot safe,FRONTEND)
be_2xx=$(col hrsp_2xx safe,BACKEND)
sv_2xx=$(col hrsp_2xx safe,s)
echo "safe: fe 2xx=$fe_2xx 5xx=$fe_5xx req=$fe_req be 2xx=$be_2xx srv 2xx=$sv_2xx"
[ "$fe_2xx" = 17 ] || fail "frontend hrsp_2xx $fe_2xx, not 17"
[ "$fe_5xx" = 1 ] || fail "frontend hrsp_5xx $fe_5xx, not 1"
[ "$fe_req" = 18 ] || fail "frontend req_tot $fe_req, not 18"
rmax=$(col req_rate_max safe,FRONTEND)
[ "$rmax" -ge 1 ] && [ "$rmax" -le 18 ] || fail "frontend req_rate_max $rmax, not 1..18"
[ -z "$(col req_rate_max safe,BACKEND)" ] || fail "req_rate_max on a backend line"
[ "$be_2xx" = 17 ] && [ "$sv_2xx" = 17 ] || fail "backend/server hrsp_2xx $be_2xx/$sv_2xx"
[ "$(col wretr safe,BACKEND)" = 1 ] || fail "the retry is not counted in wretr: $(col wretr safe,BACKEND)"
# Bytes from clients: every request went to server s, heads included.
fe_bin=$(col bin safe,FRONTEND) be_bin=$(col bin safe,BACKEND) sv_bin=$(col bin safe,s)
[ "$fe_bin" -gt 0 ] && [ "$be_bin" = "$fe_bin" ] && [ "$sv_bin" = "$fe_bin" ] ||
	fail "bin: frontend $fe_bin, backend $be_bin, server $sv_bin"
stop_proxyd

# 8. A check whose status is refused: L7STS with the code.
sed -e 's|http-check expect status 200|http-check expect status 404|' "$T/proxyd.cfg" >"$T/p2.cfg"
: >"$T/proxyd.log"
start_proxyd "$T/p2.cfg"
sleep 1
[ "$(col check_status chk,ok)" = L7STS ] || { stat; fail "check_status with a refused code: $(col check_status chk,ok)"; }
[ "$(col check_code chk,ok)" = 200 ] || fail "check_code: $(col check_code chk,ok)"
[ "$(col status chk,ok)" = DOWN ] || fail "server not DOWN after a failed check"
stop_proxyd

# 9. Graceful stop (SIGUSR1) with an idle keep-alive connection: it is not
# closed under the client; its next request is served with "Connection:
# close", then the connection closes and proxyd exits.
# (Without the 500 ms keep-alive timeout, which would end it by itself.)
sed -e '/timeout http-keep-alive/d' "$T/proxyd.cfg" >"$T/p3.cfg"
: >"$T/proxyd.log"
start_proxyd "$T/p3.cfg"
rm -f "$T/idle" "$T/go"
python3 - $((P + 1)) "$T/idle" "$T/go" >"$T/drain.out" 2>&1 <<'PY' &
import os, socket, sys, time
port, idle, go = int(sys.argv[1]), sys.argv[2], sys.argv[3]
s = socket.create_connection(("127.0.0.1", port))
s.settimeout(5)
def get():
    s.sendall(b"GET /d HTTP/1.1\r\nHost: x\r\n\r\n")
    buf = b""
    while b"\r\n\r\n" not in buf or not buf.endswith(b"hello"):
        d = s.recv(4096)
        if not d:
            raise SystemExit("closed while waiting for a response: %r" % buf)
        buf += d
    return buf
r1 = get()
assert b"onnection: close" not in r1, r1
open(idle, "w").close()
t = time.time()
while not os.path.exists(go):
    if time.time() - t > 5:
        raise SystemExit("no go")
    time.sleep(0.02)
r2 = get()
assert r2.startswith(b"HTTP/1.1 200"), r2
assert b"Connection: close" in r2, r2
assert s.recv(4096) == b"", "still open after the close"
print("drain-ok")
PY
PY_PID=$!
PIDS="$PIDS $PY_PID"
wait_file "$T/idle" 50 || fail "first request on the keep-alive connection"
kill -USR1 "$PROXYD_PID"
sleep 0.5
kill -0 "$PROXYD_PID" 2>/dev/null || fail "proxyd exited with a keep-alive connection open"
touch "$T/go"
wait "$PY_PID"
grep -q drain-ok "$T/drain.out" || fail "drain: $(cat "$T/drain.out")"
wait_exit "$PROXYD_PID" 50 || fail "proxyd did not exit once its last connection closed"
[ "$EXIT_STATUS" = 0 ] || fail "proxyd exited with $EXIT_STATUS"
check_sanitizers "$T/proxyd.log"
PROXYD_PID=""
echo "PASS"
