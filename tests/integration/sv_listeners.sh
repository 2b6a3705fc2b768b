#!/bin/sh
# Listeners follow the configuration without ever being rebound: a bind
# added on reload is bound once and passed to the new generation; a bind
# dropped is closed only once no generation uses it. Also `drain GEN` and
# `kill GEN` through the control socket.
. "$top_srcdir/tests/integration/sv_lib.sh"

FP=23060 BP=23061 FP2=23062
start_echo $BP
sv_config "$T/sv.cfg" $FP $BP "drain-timeout 20s" "kill-grace 1s" "tick 200ms"
cp "$T/sv.cfg" "$T/one.cfg"
start_sv "$T/sv.cfg"
g1=$(active_gen)

# Add a second bind.
sed "s|^    bind 127.0.0.1:$FP\$|    bind 127.0.0.1:$FP\\n    bind 127.0.0.1:$FP2 name second|" \
	"$T/one.cfg" >"$T/sv.cfg"
ctl reload | grep -q '^ok gen=' || fail "reload adding a bind"
g2=$(active_gen)
ctl show listeners >"$T/l1"
cat "$T/l1"
grep -q "127.0.0.1:$FP2 .* second .* yes .*gen$g2" "$T/l1" || fail "new listener not shown in use"
"$LOADCLI" load -p $FP2 -c 2 -d 1 | grep -q 'conn_fail=0 reqs=[1-9][0-9]* req_fail=0' ||
	fail "the new bind does not serve"

# Hold a connection on g2 through the second port, then drop that bind.
"$LOADCLI" hold -p $FP2 -i 100 -t 30 >"$T/hold.out" 2>&1 &
HOLD=$!
PIDS="$PIDS $HOLD"
sleep 0.5
cp "$T/one.cfg" "$T/sv.cfg"
ctl reload | grep -q '^ok gen=' || fail "reload dropping a bind"
g3=$(active_gen)
ctl show listeners >"$T/l2"
cat "$T/l2"
# Still open (g2 drains and holds it), no longer in the configuration.
grep -q "127.0.0.1:$FP2 .* no .*gen$g2" "$T/l2" || fail "dropped listener closed too early"
ss -Hltn "sport = :$FP2" | grep -q LISTEN || fail "port $FP2 not listening while in use"
# The same listening socket serves g3 on the first port.
"$LOADCLI" load -p $FP -c 2 -d 1 | grep -q 'conn_fail=0 reqs=[1-9][0-9]* req_fail=0' ||
	fail "first bind disturbed"

# drain of a draining generation is accepted, kill ends it.
ctl drain "$g2" | grep -q "^ok gen=$g2 state=draining" || fail "drain $g2"
ctl kill 9999 | grep -q '^error: no live generation 9999' || fail "kill of an unknown generation"
ctl kill "$g2" | grep -q "^ok gen=$g2 state=stopping" || fail "kill $g2"
i=0
while kill -0 $HOLD 2>/dev/null; do
	i=$((i + 1)); [ $i -lt 50 ] || fail "held connection not cut by kill"
	sleep 0.1
done
sleep 0.5
ctl show listeners >"$T/l3"
cat "$T/l3"
grep -q "127.0.0.1:$FP2" "$T/l3" && fail "dropped listener still open after its last user exited"
ss -Hltn "sport = :$FP2" | grep -q LISTEN && fail "port $FP2 still listening"
[ "$(live_gens)" = 1 ] || fail "not one generation left"

# The control socket is 0600; even when opened up, another uid is refused.
[ "$(stat -c %a "$T/run/control.sock")" = 600 ] || fail "control socket mode"
if command -v setpriv >/dev/null; then
	chmod 755 "$T" "$T/run"
	chmod 666 "$T/run/control.sock"
	a=$(setpriv --reuid=65534 --regid=65534 --clear-groups \
		socat -t 2 -u "UNIX-CONNECT:$T/run/control.sock" - 2>&1)
	echo "as uid 65534: $a"
	echo "$a" | grep -q '^error: permission denied' || fail "peer uid not checked"
fi
echo "PASS"
exit 0
