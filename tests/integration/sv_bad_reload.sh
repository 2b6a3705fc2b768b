#!/bin/sh
# A bad configuration on reload: the running generation keeps serving, the
# caller gets the error with file:line, and reload_failed is recorded.
. "$top_srcdir/tests/integration/sv_lib.sh"

FP=23030 BP=23031
start_echo $BP
sv_config "$T/sv.cfg" $FP $BP "tick 200ms"
start_sv "$T/sv.cfg"
g1=$(active_gen)
cp "$T/sv.cfg" "$T/good.cfg"

"$LOADCLI" load -p $FP -c 4 -S "$T/stop" >"$T/load.out" 2>&1 &
LOAD=$!
PIDS="$PIDS $LOAD"

# 1. A syntax error: refused by the parser.
sed 's/^    timeout connect 2s$/    timeout connect forever/' "$T/good.cfg" >"$T/sv.cfg"
line=$(grep -n 'timeout connect forever' "$T/sv.cfg" | cut -d: -f1)
ctl reload >"$T/ans1"
cat "$T/ans1"
grep -q '^error: reload failed' "$T/ans1" || fail "no error returned"
grep -q "sv.cfg:$line:" "$T/ans1" || fail "the error does not name sv.cfg:$line"

# 2. Valid for the parser, refused by proxyd -c (backend missing).
sed 's/default_backend be$/default_backend nosuch/' "$T/good.cfg" >"$T/sv.cfg"
ctl reload >"$T/ans2"
cat "$T/ans2"
grep -q '^error: reload failed' "$T/ans2" || fail "no error returned for a missing backend"
grep -q 'sv.cfg:[0-9]' "$T/ans2" || fail "no file:line in the second error"

[ "$(active_gen)" = "$g1" ] || fail "the active generation changed"
[ "$(live_gens)" = 1 ] || fail "a generation was started"
sleep 0.5
touch "$T/stop"
i=0
while kill -0 $LOAD 2>/dev/null; do
	i=$((i + 1)); [ $i -lt 100 ] || fail "load client did not stop"
	sleep 0.1
done
cat "$T/load.out"
grep -q 'conn_fail=0 reqs=[1-9][0-9]* req_fail=0' "$T/load.out" || fail "service was disturbed"
f=$(ctl status --json | sed -n 's/.*"reloads_failed":\([0-9]*\).*/\1/p')
[ "$f" = 2 ] || fail "reloads_failed is $f, not 2"
n=$(db "SELECT count(*) FROM incidents WHERE kind = 'reload_failed' AND summary LIKE '%sv.cfg:$line:%'")
[ "$n" -ge 1 ] || fail "reload_failed not recorded"

# 3. The reload guard: maxconn 2000 needs about 4000 fds, over a budget of 1000.
sed 's|^    tick 200ms$|    tick 200ms\n    fd-budget 1000|' "$T/good.cfg" >"$T/sv.cfg"
ctl reload >"$T/ans3"
cat "$T/ans3"
grep -q '^error: reload failed' "$T/ans3" || fail "the fd guard did not refuse"
grep -q 'reload guard: fd budget exceeded: live generations hold [0-9]* fds, the new one needs [0-9]*' \
	"$T/ans3" || fail "the refusal gives no figures"
[ "$(active_gen)" = "$g1" ] || fail "the active generation changed"

# The same through proxyctl: exit status 1 and the error on stderr.
"$PROXYCTL" -S "$T/run/control.sock" reload >"$T/pc.out" 2>"$T/pc.err"
rc=$?
[ $rc = 1 ] || fail "proxyctl reload of a refused configuration exited $rc"
grep -q 'reload guard' "$T/pc.err" || fail "proxyctl did not print the refusal"
"$PROXYCTL" -S "$T/run/control.sock" reload --json >"$T/pc.json" 2>&1
grep -q '^{"ok":false,"error":"reload failed' "$T/pc.json" || fail "proxyctl --json refusal"

# 4. Fixed again: the next reload works (through proxyctl).
cp "$T/good.cfg" "$T/sv.cfg"
"$PROXYCTL" -S "$T/run/control.sock" reload >"$T/pc.out" || fail "proxyctl reload after the fix"
grep -q '^ok gen=' "$T/pc.out" || fail "reload after the fix"
"$PROXYCTL" -S "$T/run/control.sock" reload --json | grep -q '^{"ok":true,"gen":[0-9]*,"pid":' ||
	fail "proxyctl reload --json"
"$PROXYCTL" -S "$T/run/control.sock" status --json | grep -q '"reloads":2,' ||
	fail "proxyctl status --json"
"$PROXYCTL" -S "$T/run/control.sock" show generations | grep -q '^GEN ' ||
	fail "proxyctl show generations"
"$PROXYCTL" -S "$T/run/control.sock" watch -n 2 --json | grep -c '"v":1' | grep -qx 2 ||
	fail "proxyctl watch"
"$PROXYCTL" -S "$T/run/control.sock" drain 9999 2>/dev/null
[ $? = 1 ] || fail "proxyctl drain of an unknown generation"
echo "PASS"
exit 0
