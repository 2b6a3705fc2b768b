#!/bin/sh
# Stock HAProxy (/usr/sbin/haproxy), port 21007: two haproxy processes started
# separately with the same `mode tcp` frontend on 127.0.0.1:21007 (HAProxy
# sets SO_REUSEPORT itself) -> duplicate_listener naming both haproxy pids;
# --allow haproxy silences it.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/diag_lib.sh"
diag_need_root
HAPROXY=/usr/sbin/haproxy
[ -x "$HAPROXY" ] || diag_skip "$HAPROXY not installed"
diag_timebox 60
diag_need_tools
diag_setup
P=21007

cat >"$DIAG_TMP/haproxy.cfg" <<CFG
global
	maxconn 100
defaults
	mode tcp
	timeout connect 1s
	timeout client 10s
	timeout server 10s
frontend fe
	bind 127.0.0.1:$P
	default_backend be
backend be
	server s1 127.0.0.2:$P
CFG
"$HAPROXY" -c -q -f "$DIAG_TMP/haproxy.cfg" || diag_fail "haproxy -c rejects the test config"

# hap_start NAME: one haproxy in the foreground (-db), as a background job.
hap_start() {
	"$HAPROXY" -db -f "$DIAG_TMP/haproxy.cfg" >"$DIAG_TMP/$1.log" 2>&1 &
	pid=$!
	DIAG_PIDS="$DIAG_PIDS $pid"
	eval "${1}_pid=$pid"
	i=0
	while ! ss -Hltnp "sport = :$P" | grep -q "pid=$pid,"; do
		i=$((i + 1))
		if [ $i -gt 200 ] || ! kill -0 $pid 2>/dev/null; then
			cat "$DIAG_TMP/$1.log" >&2
			diag_fail "haproxy $1 did not listen on $P"
		fi
		sleep 0.05
	done
}

hap_start h1
sleep 2.2
hap_start h2
[ "$(ss -Hltn "sport = :$P" | grep -c .)" = 2 ] || diag_fail "ss: not 2 listening sockets"

diag_run "$DIAG_TMP/d.json" --port $P --interval 200
[ "$diag_rc" = 1 ] || diag_fail "exit $diag_rc, wanted 1"
f=$(json_findings "$DIAG_TMP/d.json" duplicate_listener)
echo "$f" | grep -q "\"subject\":\"tcp:127.0.0.1:$P\"" || diag_fail "no duplicate: $(cat "$DIAG_TMP/d.json")"
echo "$f" | grep -q "\"pid\":$h1_pid," || diag_fail "pid $h1_pid missing: $f"
echo "$f" | grep -q "\"pid\":$h2_pid," || diag_fail "pid $h2_pid missing: $f"
echo "$f" | grep -q '"comm":"haproxy"' || diag_fail "owners are not named haproxy: $f"
[ "$(json_lsocks "$DIAG_TMP/d.json")" = "$(ss_lsocks $P)" ] || diag_fail "listeners differ from ss"

diag_run "$DIAG_TMP/allow.json" --port $P --interval 0 --allow haproxy
[ "$(json_count "$DIAG_TMP/allow.json" duplicate_listener)" = 0 ] || diag_fail "--allow haproxy ignored"
exit 0
