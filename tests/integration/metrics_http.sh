#!/bin/sh
# proxyd's Prometheus endpoint under HTTP load: responses counted by class
# on the frontend, backend and server, requests totals, counters monotonic
# between scrapes, valid exposition; JSON httplog lines parse and carry the
# documented keys, status and request line. Ports 27050-27099.
. "$top_srcdir/tests/integration/proxyd_lib.sh"
. "$top_srcdir/tests/integration/http_lib.sh"
. "$top_srcdir/tests/integration/metrics_lib.sh"

P=27050
start_httpback $((P + 21))
cat >"$T/proxyd.cfg" <<CFG
global
    stats prometheus 127.0.0.1:$((P + 10))
    log stderr format json local0
defaults
    mode http
    log global
    option httplog
    timeout connect 2s
    timeout client 10s
    timeout server 10s
frontend web
    bind 127.0.0.1:$((P + 1))
    acl forbidden path /deny
    http-request deny if forbidden
    default_backend app
backend app
    server a1 127.0.0.1:$((P + 21))
CFG
start_proxyd_json "$T/proxyd.cfg"
scrape $((P + 10)) "$T/m0"
validate "$T/m0"

(
	i=0
	while [ $i -lt 30 ]; do
		[ "$(http_status "http://127.0.0.1:$((P + 1))/x?n=1000")" = 200 ] || exit 1
		i=$((i + 1))
	done
	for i in 1 2 3; do
		[ "$(http_status "http://127.0.0.1:$((P + 1))/bad")" = 502 ] || exit 2
		[ "$(http_status "http://127.0.0.1:$((P + 1))/deny")" = 403 ] || exit 3
	done
) &
load=$!
PIDS="$PIDS $load"
scrape_during $load $((P + 10))
[ $SCRAPES -ge 2 ] || fail "only $SCRAPES scrapes during the load"

v() { value "$T/mend" "$1"; }
[ "$(v 'proxyd_frontend_http_responses_total{proxy="web",code="2xx"}')" = 30 ] || fail "fe 2xx"
[ "$(v 'proxyd_frontend_http_responses_total{proxy="web",code="5xx"}')" = 3 ] || fail "fe 5xx"
[ "$(v 'proxyd_frontend_http_responses_total{proxy="web",code="4xx"}')" = 3 ] || fail "fe 4xx"
[ "$(v 'proxyd_frontend_http_requests_total{proxy="web"}')" = 36 ] || fail "fe requests"
rmax=$(v 'proxyd_frontend_http_requests_rate_max{proxy="web"}')
[ "$rmax" -ge 1 ] && [ "$rmax" -le 36 ] || fail "fe request rate max $rmax, not 1..36"
[ "$(v 'proxyd_server_http_responses_total{proxy="app",server="a1",code="2xx"}')" = 30 ] || fail "srv 2xx"
[ "$(v 'proxyd_backend_http_responses_total{proxy="app",code="2xx"}')" = 30 ] || fail "be 2xx"
[ "$(v 'proxyd_backend_response_errors_total{proxy="app"}')" -ge 3 ] || fail "be eresp"
[ "$(v 'proxyd_frontend_requests_denied_total{proxy="web"}')" = 3 ] || fail "fe dreq"
# A TCP-mode family member is absent for HTTP-only counters of tcp proxies;
# here every proxy is http, so each has its six classes.
[ "$(grep -c '^proxyd_frontend_http_responses_total{proxy="web"' "$T/mend")" = 6 ] || fail "6 classes"

stop_proxyd
nh=$(grep '"type":"http"' "$T/proxyd.log" >"$T/http.json"; json_lines "$T/http.json" ts type pid \
	client_ip client_port frontend backend server request_ms queue_ms connect_ms response_ms \
	total_ms status bytes_read termination_state actconn feconn beconn srv_conn retries \
	redispatched srv_queue backend_queue request) || fail "http JSON: $nh"
[ "$nh" = 36 ] || fail "$nh JSON http lines, expected 36"
grep -q '"status":200,"bytes_read":[0-9]*,.*"request":"GET /x?n=1000 HTTP/1.1"}' "$T/http.json" ||
	fail "200 line: $(head -n 1 "$T/http.json")"
grep -q '"status":403,.*"request":"GET /deny HTTP/1.1"}' "$T/http.json" || fail "403 line"
echo "ok: $SCRAPES scrapes under HTTP load, $nh JSON http lines"
exit 0
