#!/bin/sh
# HTTP forwarding: GET/POST with Content-Length and chunked bodies (checked
# byte for byte), chunked and until-close responses, keep-alive on both
# sides (server connections counted), head rewriting (forwardfor,
# set-header, Connection), heads larger than the default buffer with
# tune.bufsize raised, deny, use_backend, and the httplog line.
# Ports 24500-24519.
. "$top_srcdir/tests/integration/http_lib.sh"

P=24500
start_nginx $((P + 10))
start_httpback $((P + 11))
start_httpback $((P + 12))
head -c 3000000 /dev/urandom >"$T/www/big.bin"
echo hello >"$T/www/index.html"
chmod 644 "$T/www/big.bin" "$T/www/index.html"
head -c 1234567 /dev/urandom >"$T/up.bin"

cat >"$T/proxyd.cfg" <<CFG
global
    log stderr local0
    maxconn 200
    tune.bufsize 65536
defaults
    mode http
    log global
    option httplog
    timeout connect 2s
    timeout client 20s
    timeout server 20s
frontend fe
    bind 127.0.0.1:$((P + 1))
    option forwardfor
    monitor-uri /healthz
    capture request header Host len 40
    capture request header X-Cap len 6
    capture response header Content-Length len 8
    acl is_hb path_beg /hb/
    acl is_other path_beg /other/
    acl forbidden path_beg /forbidden
    http-request deny if forbidden
    http-request redirect scheme https code 301 if { path_beg /secure } !{ ssl_fc }
    redirect prefix /other drop-query if { path_reg ^/old/[0-9]+$ }
    http-request set-header X-Test set-by-proxyd
    http-response set-header X-Resp from-proxyd
    use_backend hb if is_hb
    use_backend other if is_other || { path_end -i .PNG } { src 127.0.0.0/8 }
    default_backend web
backend web
    server ngx 127.0.0.1:$((P + 10))
backend hb
    server h1 127.0.0.1:$((P + 11))
backend other
    server h2 127.0.0.1:$((P + 12))
frontend fe_close
    bind 127.0.0.1:$((P + 2))
    option httpclose
    default_backend hb
CFG
start_proxyd "$T/proxyd.cfg"
U=http://127.0.0.1:$((P + 1))

# 1. A 3 MB file through nginx, byte for byte.
curl -s --max-time 20 -o "$T/big.out" "$U/big.bin" || fail "GET big.bin"
cmp -s "$T/big.out" "$T/www/big.bin" || fail "big.bin differs"

# 2. POST with Content-Length and with chunked transfer, echoed back.
curl -s --max-time 20 -o "$T/echo1" --data-binary @"$T/up.bin" "$U/hb/echo" || fail "POST CL"
cmp -s "$T/echo1" "$T/up.bin" || fail "POST Content-Length body differs"
curl -s --max-time 20 -o "$T/echo2" -H 'Transfer-Encoding: chunked' --data-binary @"$T/up.bin" \
	"$U/hb/echo" || fail "POST chunked"
cmp -s "$T/echo2" "$T/up.bin" || fail "POST chunked body differs"
# 100-continue passes through: curl sends "Expect: 100-continue" for bodies
# over 1 MB and waits 1 s for the interim answer before sending anyway.
curl -s --max-time 20 -o /dev/null -w '%{time_total}\n' --data-binary @"$T/up.bin" \
	"$U/hb/echo" >"$T/cont.t" || fail "POST with 100-continue"
awk '{ exit !($1 < 0.9) }' "$T/cont.t" || fail "100 Continue not forwarded: $(cat "$T/cont.t") s"

# 3. Chunked and until-close responses.
curl -s --max-time 20 -o "$T/ch" "$U/hb/chunked?n=200000" || fail "chunked response"
python3 -c 'import sys; sys.stdout.buffer.write(bytes(i % 251 for i in range(200000)))' \
	>"$T/pat200k" 2>/dev/null || fail "python3 is needed to build the pattern"
cmp -s "$T/ch" "$T/pat200k" || fail "chunked response differs"
curl -s --max-time 20 -o "$T/cl" "$U/hb/close?n=200000" || fail "until-close response"
cmp -s "$T/cl" "$T/pat200k" || fail "until-close response differs"

# 4. Keep-alive: five requests on one client connection use one server
# connection (nginx numbers its connections).
: >"$T/nginx.conn"
curl -s --max-time 20 -o /dev/null -o /dev/null -o /dev/null -o /dev/null -o /dev/null \
	"$U/index.html" "$U/index.html" "$U/index.html" "$U/index.html" "$U/index.html" \
	-w '%{num_connects}\n' >"$T/ka.out" || fail "keep-alive requests"
[ "$(grep -c index.html "$T/nginx.conn")" = 5 ] || fail "nginx did not see 5 requests"
[ "$(awk '{print $1}' "$T/nginx.conn" | sort -u | wc -l)" = 1 ] ||
	fail "5 keep-alive requests used $(awk '{print $1}' "$T/nginx.conn" | sort -u | wc -l) server connections"
[ "$(paste -sd+ "$T/ka.out" | bc)" = 1 ] || fail "curl opened more than one connection"
# Same with the origin server, which counts accepted connections.
c0=$(nconn "$T/hb.$((P + 11)).conn")
curl -s --max-time 20 -o /dev/null -o /dev/null -o /dev/null "$U/hb/a" "$U/hb/b" "$U/hb/c" ||
	fail "keep-alive to httpback"
c1=$(nconn "$T/hb.$((P + 11)).conn")
[ $((c1 - c0)) = 1 ] || fail "3 keep-alive requests opened $((c1 - c0)) server connections"

# 5. httpclose: one server connection per request, Connection: close sent.
c0=$(nconn "$T/hb.$((P + 11)).conn")
curl -s -D "$T/hclose.h" --max-time 20 -o /dev/null -o /dev/null \
	"http://127.0.0.1:$((P + 2))/a" "http://127.0.0.1:$((P + 2))/b" || fail "httpclose"
c1=$(nconn "$T/hb.$((P + 11)).conn")
[ $((c1 - c0)) = 2 ] || fail "httpclose: $((c1 - c0)) server connections for 2 requests"
grep -qi '^Connection: close' "$T/hclose.h" || fail "httpclose: no Connection: close"

# 6. Head rewriting: X-Forwarded-For and set-header reach the server,
# the client's Connection header does not; the response gets its header.
curl -s --max-time 10 -D "$T/hdr.h" -o "$T/hdr.out" -H 'Connection: keep-alive, X-Foo' \
	-H 'X-Test: from-client' "$U/hb/hdr" || fail "GET /hdr"
grep -qi '^X-Forwarded-For: 127.0.0.1' "$T/hdr.out" || fail "no X-Forwarded-For"
grep -qi '^X-Test: set-by-proxyd' "$T/hdr.out" || fail "set-header not applied"
grep -qi 'from-client' "$T/hdr.out" && fail "set-header did not replace the header"
grep -qi '^Connection:' "$T/hdr.out" && fail "client Connection header forwarded"
grep -qi '^X-Resp: from-proxyd' "$T/hdr.h" || fail "http-response set-header not applied"

# 6b. tune.bufsize 65536: a 40 kB header (more than the default 16 kB
# buffer) passes whole, and set-header still applies; 70 kB gets a 400.
LONG=$(head -c 30000 /dev/zero | base64 -w0)
curl -s --max-time 10 -o "$T/long.out" -H "X-Long: $LONG" "$U/hb/hdr" || fail "GET /hdr, 40 kB head"
grep -q "^X-Long: $LONG" "$T/long.out" || fail "40 kB header not forwarded whole"
grep -qi '^X-Test: set-by-proxyd' "$T/long.out" || fail "set-header not applied to a 40 kB head"
LONG=$(head -c 52000 /dev/zero | base64 -w0)
[ "$(curl -s --max-time 10 -o /dev/null -w '%{http_code}' -H "X-Long: $LONG" "$U/hb/hdr")" = 400 ] ||
	fail "70 kB head not refused with 400"

# 7. deny and use_backend.
[ "$(http_status "$U/forbidden")" = 403 ] || fail "deny did not answer 403"
c0=$(nconn "$T/hb.$((P + 12)).conn")
[ "$(http_status "$U/other/x")" = 200 ] || fail "use_backend other"
[ "$(nconn "$T/hb.$((P + 12)).conn")" = $((c0 + 1)) ] || fail "use_backend did not reach other"

# 7b. Anonymous ACLs, path_end -i and src; redirect (http-request and the
# frontend keyword): the Location, no server reached, logged "LR".
c0=$(nconn "$T/hb.$((P + 12)).conn")
[ "$(http_status "$U/img/a.png")" = 200 ] || fail "use_backend other for a .png"
[ "$(nconn "$T/hb.$((P + 12)).conn")" = $((c0 + 1)) ] || fail "path_end/src did not route to other"
curl -s --max-time 5 -D "$T/redir.h" -o /dev/null "$U/secure/x?y=1" || fail "GET /secure"
head -n 1 "$T/redir.h" | grep -q '^HTTP/1.1 301 ' || fail "redirect: $(head -n 1 "$T/redir.h")"
grep -qi "^Location: https://127.0.0.1:$((P + 1))/secure/x?y=1" "$T/redir.h" ||
	fail "redirect scheme Location: $(grep -i '^Location' "$T/redir.h")"
l=$(last_http_line '"GET /secure/x?y=1 HTTP/1.1"')
echo "$l" | grep -q ' 301 .* LR-- ' || fail "redirect log line: $l"
curl -s --max-time 5 -D "$T/redir.h" -o /dev/null "$U/old/12?q=2" || fail "GET /old/12"
grep -qi "^Location: /other/old/12.\{0,1\}$" "$T/redir.h" ||
	fail "redirect prefix Location: $(grep -i '^Location' "$T/redir.h")"
head -n 1 "$T/redir.h" | grep -q '^HTTP/1.1 302 ' || fail "redirect code: $(head -n 1 "$T/redir.h")"
[ "$(http_status "$U/old/12a")" = 404 ] || fail "path_reg matched /old/12a (nginx answers 404)"

# 7c. monitor-uri: answered by proxyd, never logged.
curl -s --max-time 5 -D "$T/mon.h" -o "$T/mon.out" "$U/healthz" || fail "GET /healthz"
head -n 1 "$T/mon.h" | grep -q '^HTTP/1.1 200 ' || fail "monitor-uri: $(head -n 1 "$T/mon.h")"
grep -q 'Service ready' "$T/mon.out" || fail "monitor-uri body: $(cat "$T/mon.out")"
[ "$(http_status "$U/healthz/x")" = 404 ] || fail "monitor-uri matched a longer path"
sleep 0.2
grep -q '"GET /healthz HTTP/1.1"' "$T/proxyd.log" && fail "monitor-uri request logged"

# 8. The httplog line, field by field.
l=$(last_http_line '"GET /other/x HTTP/1.1"')
[ -n "$l" ] || fail "no httplog line for /other/x"
echo "$l"
set -- $l
case $1 in 127.0.0.1:*) ;; *) fail "client field: $1" ;; esac
[ "$3" = fe ] || fail "frontend field: $3"
[ "$4" = other/h2 ] || fail "backend/server field: $4"
echo "$5" | grep -Eq '^[0-9]+/[0-9]+/[0-9]+/[0-9]+/[0-9]+$' || fail "timers field: $5"
[ "$6" = 200 ] || fail "status field: $6"
[ "$9" = - ] && [ "${10}" = "----" ] || fail "termination state: ${10}"
l=$(last_http_line '"GET /forbidden HTTP/1.1"')
echo "$l" | grep -q ' 403 .* PR-- ' || fail "deny log line: $l"
# Captured headers: {Host|X-Cap} {Content-Length}, cut to their length, with
# the bytes that would break the line escaped.
curl -s --max-time 5 -o /dev/null -H 'X-Cap: a|b"cdefgh' "$U/other/cap" || fail "GET /other/cap"
l=$(last_http_line '"GET /other/cap HTTP/1.1"')
echo "$l" | grep -Fq " {127.0.0.1:$((P + 1))|a#7Cb#22cd} {5} \"GET /other/cap" ||
	fail "captures: $l"

stop_proxyd
echo "PASS"
