#!/bin/sh
# proxyd -c: exit 0 for a valid file (lint warnings printed, status
# unchanged), 1 for an invalid one with every error located as file:line;
# usage errors exit 2.
. "$top_srcdir/tests/integration/proxyd_lib.sh"

cat >"$T/good.cfg" <<'CFG'
global
    maxconn 100
defaults
    mode tcp
    timeout connect 5s
    timeout client 1h
    timeout server 1h
listen app
    bind 127.0.0.1:22250
    server s1 127.0.0.1:22251
CFG
cat >"$T/bad.cfg" <<'CFG'
global
    maxconn lots
defaults
    mode tcp
    timeout connect 5s
listen app
    bind 127.0.0.1:22250
    frobnicate yes
    server s1 127.0.0.1:22251 weight nine
CFG

out=$("$PROXYD" -c -f "$T/good.cfg" 2>&1)
rc=$?
echo "$out"
[ "$rc" = 0 ] || fail "good config: exit $rc"
echo "$out" | grep -q "warning: .*good.cfg:[0-9]*:" || fail "no located lint warning for long timeouts"

out=$("$PROXYD" -c -f "$T/bad.cfg" 2>&1)
rc=$?
echo "$out"
[ "$rc" = 1 ] || fail "bad config: exit $rc"
for line in 2 8 9; do
	echo "$out" | grep -q "error: .*bad.cfg:$line:" || fail "error on line $line not reported"
done
echo "$out" | grep -q "frobnicate" || fail "unknown keyword not named"

"$PROXYD" -c -f "$T/missing.cfg" >/dev/null 2>&1
rc=$?
[ "$rc" = 1 ] || fail "missing file: exit $rc"
"$PROXYD" -c >/dev/null 2>&1
rc=$?
[ "$rc" = 2 ] || fail "no -f: exit $rc"
out=$("$PROXYD" -v)
case "$out" in "proxyd "*) ;; *) fail "-v: $out" ;; esac
echo "PASS"
