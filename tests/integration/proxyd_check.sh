#!/bin/sh
# Health checks on loopback: a server is marked DOWN within inter x fall and
# UP within inter x rise, each change logged; `on-marked-down
# shutdown-sessions` cuts a session held on a server that goes DOWN
# (incident 2), and without it the session stays.
# Ports 22500-22509.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/proxyd_backend_lib.sh"

FE_PORT=22500
S1=22501
S2=22502
INTER=200
FALL=2
RISE=3
ADMIN=$WORK/admin.sock

cat >"$WORK/proxyd.cfg" <<CFG
global
	stats socket $ADMIN mode 600 level admin
defaults
	mode tcp
	timeout connect 1s
	timeout client 1h
	timeout server 1h
frontend fe
	bind 127.0.0.1:$FE_PORT
	default_backend be
backend be
	balance first
	server s1 127.0.0.1:$S1 check inter $INTER fall $FALL rise $RISE on-marked-down shutdown-sessions
	server s2 127.0.0.1:$S2 check inter $INTER fall $FALL rise $RISE
CFG

start_holdback $S1
HB1=$LASTPID
start_holdback $S2
HB2=$LASTPID
start_proxyd "$WORK/proxyd.cfg" "$ADMIN"

# Both servers pass their checks.
wait_until 3000 stat_is "$ADMIN" be s1 status UP || fail "s1 not UP: $(stat_col "$ADMIN" be s1 status)"
wait_until 3000 stat_is "$ADMIN" be s2 status UP || fail "s2 not UP"
[ "$(stat_col "$ADMIN" be s1 check_status)" = L4OK ] || fail "s1 check_status"
ok "servers UP, check_status L4OK"

# Incident 2: a session held on s1; s1 stops accepting (as if cut off).
hold "$WORK/cli1.out"
wait_until 3000 stat_is "$ADMIN" be s1 scur 1 || fail "held session not on s1"
t0=$(now_ms)
kill -USR1 "$HB1"
wait_until 3000 stat_is "$ADMIN" be s1 status DOWN || fail "s1 not marked DOWN"
down_ms=$(( $(now_ms) - t0 ))
# Worst case: a check passed just before the cut, then fall failures, each
# after inter; the rest is polling and scheduling slack.
limit=$(( INTER * FALL + INTER + 500 ))
[ "$down_ms" -le "$limit" ] || fail "s1 DOWN after ${down_ms} ms (limit $limit)"
ok "s1 DOWN ${down_ms} ms after it stopped accepting (inter x fall = $((INTER * FALL)) ms)"
wait_until 2000 ended "$WORK/cli1.out" || fail "held session on s1 not cut"
cut_ms=$(( $(now_ms) - t0 ))
grep -q '^closed=\(eof\|rst\)' "$WORK/cli1.out" || fail "client saw: $(cat "$WORK/cli1.out")"
[ "$cut_ms" -le $(( limit + 300 )) ] || fail "session cut after ${cut_ms} ms"
ok "held session cut by shutdown-sessions ${cut_ms} ms after the cut ($(cat "$WORK/cli1.out"))"
grep -q 'event=server_state backend=be server=s1 from=UP to=DOWN reason="Layer4 connection problem"' \
	"$WORK/proxyd.log" || fail "no DOWN log line"
[ "$(stat_col "$ADMIN" be s1 scur)" = 0 ] || fail "s1 still has sessions"
[ "$(stat_col "$ADMIN" be s1 chkdown)" = 1 ] || fail "chkdown not 1"
[ "$(stat_col "$ADMIN" be s1 last_chk)" = "Connection refused" ] || fail "last_chk"
ok "DOWN logged, chkdown=1, last_chk=Connection refused"

# s1 accepts again: UP within inter x rise.
t0=$(now_ms)
kill -USR2 "$HB1"
wait_until 3000 stat_is "$ADMIN" be s1 status UP || fail "s1 not back UP"
up_ms=$(( $(now_ms) - t0 ))
limit=$(( INTER * RISE + INTER + 500 ))
[ "$up_ms" -le "$limit" ] || fail "s1 UP after ${up_ms} ms (limit $limit)"
grep -q 'event=server_state backend=be server=s1 from=DOWN to=UP' "$WORK/proxyd.log" ||
	fail "no UP log line"
ok "s1 UP ${up_ms} ms after it accepted again (inter x rise = $((INTER * RISE)) ms)"

# Without shutdown-sessions (s2), a session survives its server going DOWN:
# the state incident 2 was about, visible as scur on a DOWN server.
[ "$(stats "$ADMIN" "set server be/s1 state maint")" = "" ] || fail "set server state maint"
hold "$WORK/cli2.out"
CLI2=$LASTPID
wait_until 3000 stat_is "$ADMIN" be s2 scur 1 || fail "held session not on s2"
kill -USR1 "$HB2"
wait_until 3000 stat_is "$ADMIN" be s2 status DOWN || fail "s2 not marked DOWN"
sleep 1
ended "$WORK/cli2.out" && fail "session on s2 ended without shutdown-sessions: $(cat "$WORK/cli2.out")"
[ "$(stat_col "$ADMIN" be s2 scur)" = 1 ] || fail "s2 scur while DOWN"
ok "without shutdown-sessions the session stays on the DOWN server (scur=1 shown)"

# The operator's remedy: shutdown sessions server.
[ "$(stats "$ADMIN" "shutdown sessions server be/s2")" = "" ] || fail "shutdown sessions"
wait_until 2000 ended "$WORK/cli2.out" || fail "shutdown sessions server did not cut"
kill "$CLI2" 2>/dev/null
ok "shutdown sessions server cut it: $(cat "$WORK/cli2.out")"
exit 0
