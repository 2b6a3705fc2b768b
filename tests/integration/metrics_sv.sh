#!/bin/sh
# proxysv's Prometheus endpoint and JSON event lines. Every kind, action and
# result is exported from the first scrape; scrapes during a reload storm
# under load stay valid (promtool, our strict checker) and no counter goes
# down; the reload counter moves, a failed reload is counted; one incident
# (maxconn_saturation: a frontend held at its maxconn) shows in the open
# gauge, the opened counter, the actions counter and the accept queue, and
# the gauge falls back when it resolves. With `log-format json` every event
# line parses as JSON with ts, type, severity and pid. Ports 27500-27509.
. "$top_srcdir/tests/integration/svi_lib.sh"
. "$top_srcdir/tests/integration/metrics_lib.sh"
SOCKPEER="$top_builddir/tests/integration/sockpeer"
[ -x "$SOCKPEER" ] || { echo "SKIP: sockpeer not built"; exit 77; }

FP=27500 BP=27501 MP=27502
KINDS="duplicate_listener accept_backlog stale_generation half_close_buildup
session_on_down_server server_queue_starvation maxconn_saturation lossy_peer
kernel_tuning config_lint reload_failed generation_crash"

start_echo $BP
svi_config "$T/sv.cfg" $FP -- "server s1 127.0.0.1:$BP" -- "tick 200ms" \
	"drain-timeout 2s" "kill-grace 500ms" "max-generations 0" \
	"stats prometheus 127.0.0.1:$MP" "log-format json"
# With the fin timeouts set, config_lint stays quiet: all at 0 at first.
sed -i -e 's/^frontend fe$/frontend fe\n    maxconn 10/' \
	-e 's/^defaults$/defaults\n    timeout client-fin 3s\n    timeout server-fin 3s/' "$T/sv.cfg"
cp "$T/sv.cfg" "$T/good.cfg"
start_sv "$T/sv.cfg"
sleep 0.5

# ---- the first scrape: every series there, at 0 ----
scrape $MP "$T/m0"
validate "$T/m0"
# kernel_tuning depends on the host's sysctls: there, only present.
for k in $KINDS; do
	o=$(value "$T/m0" "proxysv_incidents_open{kind=\"$k\"}")
	t=$(value "$T/m0" "proxysv_incidents_total{kind=\"$k\"}")
	[ -n "$o" ] && [ -n "$t" ] || fail "kind $k not exported"
	[ $k = kernel_tuning ] || [ "$o.$t" = 0.0 ] || fail "incidents of kind $k at $o/$t"
done
n=$(grep -c '^proxysv_actions_total{' "$T/m0")
[ "$n" = 240 ] || fail "proxysv_actions_total has $n series, not 5 actions x 12 kinds x 4 results"
[ "$(value "$T/m0" 'proxysv_generations{state="serving"}')" = 1 ] || fail "no serving generation"
[ "$(value "$T/m0" "proxysv_listener_sockets{listener=\"127.0.0.1:$FP\"}")" = 1 ] ||
	fail "listener_sockets of 127.0.0.1:$FP"
[ -n "$(value "$T/m0" "proxysv_half_closed_sockets{state=\"FIN-WAIT-2\",port=\"$FP\"}")" ] ||
	fail "no half_closed_sockets series for port $FP"
r0=$(value "$T/m0" proxysv_reloads_total)
g0=$(value "$T/m0" proxysv_current_generation)
t0=$(value "$T/m0" proxysv_ticks_total)
[ "$t0" -ge 1 ] || fail "no tick counted"

# Other paths and methods.
c=$(curl -s -m 5 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$MP/other")
[ "$c" = 404 ] || fail "GET /other: $c"
c=$(curl -s -m 5 -o /dev/null -w '%{http_code}' -X POST "http://127.0.0.1:$MP/metrics")
[ "$c" = 405 ] || fail "POST /metrics: $c"

# ---- a reload storm under load, scraped throughout ----
"$LOADCLI" load -p $FP -c 4 -r 2 -S "$T/stop" >"$T/load.out" 2>"$T/load.log" &
LOAD=$!
PIDS="$PIDS $LOAD"
sleep 0.5
prev="$T/m0"
i=1
while [ $i -le 20 ]; do
	kill -HUP "$SV_PID" || fail "proxysv is gone"
	sleep 0.1
	scrape $MP "$T/s$i"
	validate "$T/s$i" "$prev"
	prev="$T/s$i"
	i=$((i + 1))
done
wait_active 10 || fail "no active generation after the storm"
sleep 1
touch "$T/stop"
i=0
while kill -0 $LOAD 2>/dev/null; do
	i=$((i + 1)); [ $i -lt 100 ] || fail "load client did not stop"
	sleep 0.1
done
scrape $MP "$T/m1"
validate "$T/m1" "$prev"
r1=$(value "$T/m1" proxysv_reloads_total)
g1=$(value "$T/m1" proxysv_current_generation)
echo "reloads_total $r0 -> $r1, generation $g0 -> $g1 (20 SIGHUPs; close ones coalesce)"
[ "$r1" -gt "$r0" ] || fail "proxysv_reloads_total did not move: $r0 -> $r1"
[ "$g1" -gt "$g0" ] || fail "proxysv_current_generation did not move"
[ "$(value "$T/m1" proxysv_reloads_failed_total)" = 0 ] || fail "a reload of the storm failed"
awk '$1 == "proxysv_ticks_total" { exit !($2 > '"$t0"') }' "$T/m1" || fail "ticks did not move"

# ---- one failed reload ----
printf 'frontend broken\n    bind 127.0.0.1:%s\n    no-such-keyword\n' $FP >>"$T/sv.cfg"
kill -HUP "$SV_PID"
i=0
until scrape $MP "$T/m2" && [ "$(value "$T/m2" proxysv_reloads_failed_total)" = 1 ]; do
	i=$((i + 1)); [ $i -lt 50 ] || fail "proxysv_reloads_failed_total did not reach 1"
	sleep 0.1
done
validate "$T/m2" "$T/m1"
[ "$(value "$T/m2" 'proxysv_incidents_total{kind="reload_failed"}')" = 1 ] ||
	fail "incidents_total{kind=\"reload_failed\"} is not 1"
cp "$T/good.cfg" "$T/sv.cfg"
mt=$(value "$T/m2" 'proxysv_incidents_total{kind="maxconn_saturation"}')
[ "$(value "$T/m2" 'proxysv_incidents_open{kind="maxconn_saturation"}')" = 0 ] ||
	fail "maxconn_saturation open before the clients came"

# ---- one incident: maxconn_saturation ----
"$SOCKPEER" connect 127.0.0.1:$FP -n 14 -t 60 >"$T/c.log" 2>&1 &
C=$!
PIDS="$PIDS $C"
i=0
until scrape $MP "$T/m3" &&
	[ "$(value "$T/m3" 'proxysv_incidents_open{kind="maxconn_saturation"}')" = 1 ]; do
	i=$((i + 1)); [ $i -lt 100 ] || fail "incidents_open{kind=\"maxconn_saturation\"} did not reach 1"
	sleep 0.1
done
validate "$T/m3" "$T/m2"
[ "$(value "$T/m3" 'proxysv_incidents_total{kind="maxconn_saturation"}')" = $((mt + 1)) ] ||
	fail "incidents_total{kind=\"maxconn_saturation\"} did not move by 1 from $mt"
q=$(value "$T/m3" "proxysv_listener_accept_queue{listener=\"127.0.0.1:$FP\"}")
echo "accept queue while saturated: $q"
[ "$q" -ge 1 ] || fail "the clients beyond maxconn are not in the accept queue"
i=0
until scrape $MP "$T/m4" &&
	[ "$(value "$T/m4" 'proxysv_actions_total{action="observe",kind="maxconn_saturation",result="ok"}')" -ge 1 ]; do
	i=$((i + 1)); [ $i -lt 30 ] || fail "no observe action counted"
	sleep 0.1
done
kill $C
i=0
until scrape $MP "$T/m5" &&
	[ "$(value "$T/m5" 'proxysv_incidents_open{kind="maxconn_saturation"}')" = 0 ]; do
	i=$((i + 1)); [ $i -lt 100 ] || fail "incidents_open{kind=\"maxconn_saturation\"} did not fall back"
	sleep 0.1
done
validate "$T/m5" "$T/m4"
[ "$(value "$T/m5" 'proxysv_incidents_total{kind="maxconn_saturation"}')" = $((mt + 1)) ] ||
	fail "incidents_total went down or counted twice"

# ---- JSON event lines ----
n=$(json_lines "$T/sv.log" ts type severity pid) || fail "JSON log lines: $n"
echo "$n JSON event lines"
[ "$n" -ge 20 ] || fail "only $n JSON lines"
grep -v '^{' "$T/sv.log" | grep -E '^[0-9]{4}-[0-9]{2}-[0-9]{2}T' && fail "text event lines with log-format json"
python3 - "$T/sv.log" <<'PY' || fail "no incident_opened / reload_failed event in the JSON lines"
import json, sys
seen = set()
for line in open(sys.argv[1], encoding="utf-8"):
    if not line.startswith("{"):
        continue
    o = json.loads(line)
    assert o["type"] == "event" and o["ts"].endswith("Z"), line
    if o.get("program") == "proxysv":
        seen.add((o.get("event"), o.get("kind")))
        if o.get("event") == "reload_failed":
            seen.add(("reload_failed", None))
need = {("incident_opened", "maxconn_saturation"), ("reload_failed", None)}
sys.exit(0 if need <= seen else "missing %s" % (need - seen))
PY
echo "PASS"
exit 0
