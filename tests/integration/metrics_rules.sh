#!/bin/sh
# The example alerting rules and scrape config: promtool accepts them, a
# rule unit test fires the server-down and reload-failed alerts on
# synthetic series, and every proxyd_* metric the rules name is one that
# proxyd really exports. Ports 27100-27149.
. "$top_srcdir/tests/integration/proxyd_lib.sh"
. "$top_srcdir/tests/integration/metrics_lib.sh"

EX="$top_srcdir/examples/prometheus"
P=27100
if [ -n "$PROMTOOL" ]; then
	"$PROMTOOL" check rules "$EX/proxyd-alerts.yml" || fail "promtool check rules"
	cp "$EX/prometheus.yml" "$EX/proxyd-alerts.yml" "$T/"
	"$PROMTOOL" check config "$T/prometheus.yml" || fail "promtool check config"
	cat >"$T/alerts_test.yml" <<'YML'
rule_files:
  - proxyd-alerts.yml
evaluation_interval: 15s
tests:
  - interval: 15s
    input_series:
      - series: 'proxyd_server_up{instance="h1",proxy="be",server="s1"}'
        values: '1 1 0 0 0 0 0 0 0'
      - series: 'proxyd_server_status{instance="h1",proxy="be",server="s1",state="DOWN"}'
        values: '0 0 1 1 1 1 1 1 1'
      - series: 'proxysv_reloads_failed_total{instance="h1"}'
        values: '0 0 0 1 1 1 1 1 1'
    alert_rule_test:
      - eval_time: 2m
        alertname: ProxydServerDown
        exp_alerts:
          - exp_labels: { severity: warning, instance: h1, proxy: be, server: s1 }
            exp_annotations: { summary: "Server be/s1 is DOWN" }
      - eval_time: 2m
        alertname: ProxydReloadFailed
        exp_alerts:
          - exp_labels: { severity: critical, instance: h1 }
            exp_annotations: { summary: "A proxyd reload failed; the previous generation still serves" }
      - eval_time: 15s
        alertname: ProxydServerDown
        exp_alerts: []
YML
	(cd "$T" && "$PROMTOOL" test rules alerts_test.yml) || fail "promtool test rules"
else
	echo "promtool not installed: rule syntax not checked, names still are"
fi

# Every proxyd_* name in the rules exists in a scrape of a proxyd with TCP
# and HTTP proxies.
start_back $((P + 21)) echo
cat >"$T/proxyd.cfg" <<CFG
global
    stats prometheus 127.0.0.1:$((P + 10))
defaults
    timeout connect 2s
    timeout client 10s
    timeout server 10s
listen t
    mode tcp
    bind 127.0.0.1:$((P + 1))
    server s1 127.0.0.1:$((P + 21)) check
listen h
    mode http
    bind 127.0.0.1:$((P + 2))
    server s1 127.0.0.1:$((P + 21))
CFG
start_proxyd "$T/proxyd.cfg"
scrape $((P + 10)) "$T/m"
validate "$T/m"
stop_proxyd
names=$(grep -o 'proxyd_[a-z_]*' "$EX/proxyd-alerts.yml" | sort -u)
[ -n "$names" ] || fail "no proxyd metric in the rules"
for nm in $names; do
	grep -q "^$nm[{ ]" "$T/m" || fail "the rules use $nm, which proxyd does not export"
done
echo "ok: $(echo "$names" | wc -l) proxyd metric names used by the rules exist"
exit 0
