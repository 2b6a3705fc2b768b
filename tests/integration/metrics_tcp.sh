#!/bin/sh
# proxyd's Prometheus endpoint under TCP load: the exposition is valid
# (promtool and our strict checker), counters move with the traffic and
# never go down between scrapes, a DOWN server shows as such, the scrape
# cost is reported; JSON session and event lines parse and carry the
# documented keys. Ports 27000-27049.
. "$top_srcdir/tests/integration/proxyd_lib.sh"
. "$top_srcdir/tests/integration/metrics_lib.sh"

P=27000
start_back $((P + 21)) echo
cat >"$T/proxyd.cfg" <<CFG
global
    stats prometheus 127.0.0.1:$((P + 10))
    log stderr format json local0
defaults
    mode tcp
    log global
    timeout connect 2s
    timeout client 10s
    timeout server 10s
listen fe
    bind 127.0.0.1:$((P + 1))
    maxconn 500
    server s1 127.0.0.1:$((P + 21)) check inter 200 maxconn 50
    server dead 127.0.0.1:$((P + 22)) check inter 200 fall 1
CFG
start_proxyd_json "$T/proxyd.cfg"
wait_grep '"event":"server_state"' "$T/proxyd.log" 50 || fail "no server_state event for the dead server"

scrape $((P + 10)) "$T/m0"
validate "$T/m0"
[ "$(value "$T/m0" 'proxyd_server_up{proxy="fe",server="dead"}')" = 0 ] || fail "dead server not down"
[ "$(value "$T/m0" 'proxyd_server_status{proxy="fe",server="dead",state="DOWN"}')" = 1 ] ||
	fail "dead server status"
[ "$(value "$T/m0" 'proxyd_server_check_status{proxy="fe",server="dead",state="L4CON"}')" = 1 ] ||
	fail "dead server check status"
[ "$(value "$T/m0" 'proxyd_server_up{proxy="fe",server="s1"}')" = 1 ] || fail "s1 not up"
[ "$(value "$T/m0" 'proxyd_server_limit_sessions{proxy="fe",server="s1"}')" = 50 ] || fail "s1 maxconn"
[ "$(value "$T/m0" 'proxyd_frontend_limit_sessions{proxy="fe"}')" = 500 ] || fail "fe maxconn"
[ "$(value "$T/m0" 'proxyd_process_draining')" = 0 ] || fail "draining"

# Load: clients in a loop while we scrape.
(
	i=0
	while [ $i -lt 40 ]; do
		timeout 10 "$TCPCLI" -p $((P + 1)) -m echo -n 20000 -t 5000 >/dev/null || exit 1
		i=$((i + 1))
	done
) &
load=$!
PIDS="$PIDS $load"
scrape_during $load $((P + 10))
[ $SCRAPES -ge 2 ] || fail "only $SCRAPES scrapes during the load"

s0=$(value "$T/m0" 'proxyd_frontend_sessions_total{proxy="fe"}')
s1=$(value "$T/mend" 'proxyd_frontend_sessions_total{proxy="fe"}')
[ "$((s1 - s0))" -ge 40 ] || fail "frontend sessions moved by $((s1 - s0)), not 40"
b1=$(value "$T/mend" 'proxyd_server_bytes_out_total{proxy="fe",server="s1"}')
[ "$b1" -ge 800000 ] || fail "server bytes_out $b1 < 40 x 20000"
bi=$(value "$T/mend" 'proxyd_backend_bytes_in_total{proxy="fe"}')
[ "$bi" -ge 800000 ] || fail "backend bytes_in $bi"
sc=$(value "$T/mend" 'proxyd_exporter_scrapes_total')
[ "$sc" -eq $((SCRAPES + 2)) ] || fail "scrapes_total $sc, expected $((SCRAPES + 2))"
echo "render of the last scrape: $(value "$T/mend" proxyd_exporter_render_seconds) s"

# Anything but GET /metrics.
[ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$((P + 10))/")" = 404 ] || fail "404"
[ "$(curl -s -o /dev/null -w '%{http_code}' -X POST "http://127.0.0.1:$((P + 10))/metrics")" = 405 ] ||
	fail "405"

stop_proxyd
# JSON logs: sessions and events, documented keys, ISO-8601 UTC dates.
ns=$(grep '"type":"tcp"' "$T/proxyd.log" >"$T/sess.json"; json_lines "$T/sess.json" ts type pid \
	client_ip client_port frontend backend server queue_ms connect_ms total_ms bytes_read \
	termination_state actconn feconn beconn srv_conn retries redispatched srv_queue \
	backend_queue) || fail "session JSON: $ns"
[ "$ns" -ge 40 ] || fail "$ns JSON session lines, expected 40"
ne=$(grep '"type":"event"' "$T/proxyd.log" >"$T/ev.json"; json_lines "$T/ev.json" ts type severity pid event) ||
	fail "event JSON: $ne"
[ "$ne" -ge 3 ] || fail "$ne JSON event lines"
grep -v '^{' "$T/proxyd.log" | grep -q . && fail "non-JSON line with format json: $(grep -v '^{' "$T/proxyd.log" | head -n 3)"
grep -q '"ts":"20[0-9][0-9]-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-6][0-9]\.[0-9][0-9][0-9]Z"' "$T/sess.json" ||
	fail "ISO-8601 timestamp"
grep -q '"server":"s1".*"bytes_read":20000,' "$T/sess.json" || fail "bytes_read in session JSON"
echo "ok: $SCRAPES scrapes under load, $ns JSON session lines, $ne events"
exit 0
