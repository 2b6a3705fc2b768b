# Helpers for proxyd's backend-layer integration tests (checks, queues,
# stats socket). Sourced by tests/integration/proxyd_check.sh and
# proxyd_stats.sh. Ports 22500-22999; every process started is recorded and
# killed on exit; every wait is bounded.

top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
PROXYD=$top_builddir/proxyd/proxyd
HOLDBACK=$top_builddir/tests/integration/holdback
TCPCLI=$top_builddir/tests/integration/tcpcli

for p in "$PROXYD" "$HOLDBACK" "$TCPCLI"; do
	if [ ! -x "$p" ]; then
		echo "SKIP: $p not built" >&2
		exit 77
	fi
done
if ! command -v socat >/dev/null 2>&1; then
	echo "SKIP: socat not installed" >&2
	exit 77
fi

WORK=$(mktemp -d /tmp/proxyd-be-it.XXXXXX) || exit 99
PIDS=""

cleanup() {
	for p in $PIDS; do
		kill "$p" 2>/dev/null
	done
	for p in $PIDS; do
		wait "$p" 2>/dev/null
	done
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

fail() {
	echo "FAIL: $*" >&2
	if [ -f "$WORK/proxyd.log" ]; then
		echo "--- proxyd log (last lines):" >&2
		tail -n 20 "$WORK/proxyd.log" >&2
	fi
	exit 1
}

ok() {
	echo "ok: $*"
}

now_ms() {
	date +%s%3N
}

# bg CMD...: starts CMD in the background, records its pid in LASTPID.
bg() {
	"$@" &
	LASTPID=$!
	PIDS="$PIDS $LASTPID"
}

# wait_until MS CMD...: runs CMD every 50 ms until it succeeds; 1 after MS.
wait_until() {
	_limit=$(( $(now_ms) + $1 ))
	shift
	while ! "$@"; do
		[ "$(now_ms)" -ge "$_limit" ] && return 1
		sleep 0.05
	done
	return 0
}

# stats SOCKET COMMAND-LINE: the socket's answer on stdout.
stats() {
	printf '%s\n' "$2" | timeout 5 socat -t 5 stdio "UNIX-CONNECT:$1"
}

# stat_col SOCKET PXNAME SVNAME COLUMN: one value of `show stat`, found by
# column name the way a user's awk script would.
stat_col() {
	stats "$1" "show stat" | awk -F, -v px="$2" -v sv="$3" -v c="$4" '
		NR == 1 { sub(/^# /, ""); for (i = 1; i <= NF; i++) col[$i] = i; next }
		$1 == px && $2 == sv { print $(col[c]) }'
}

# stat_is SOCKET PXNAME SVNAME COLUMN VALUE
stat_is() {
	[ "$(stat_col "$1" "$2" "$3" "$4")" = "$5" ]
}

# start_holdback PORT: an echo backend; its pid in LASTPID.
start_holdback() {
	rm -f "$WORK/hb$1.ready"
	bg "$HOLDBACK" -p "$1" -R "$WORK/hb$1.ready"
	wait_until 3000 test -f "$WORK/hb$1.ready" || fail "holdback on port $1 did not start"
}

# start_proxyd CFG ADMIN-SOCKET: runs proxyd in the foreground of a
# background job, log in $WORK/proxyd.log; PROXYD_PID set.
start_proxyd() {
	"$PROXYD" -f "$1" >>"$WORK/proxyd.log" 2>&1 &
	PROXYD_PID=$!
	PIDS="$PIDS $PROXYD_PID"
	wait_until 5000 sh -c "printf 'show info\n' | socat -t 2 stdio UNIX-CONNECT:$2 2>/dev/null | grep -q '^Name: proxyd'" ||
		fail "proxyd did not answer on $2"
}

# hold OUTFILE [ARGS]: a client holding a session open through the
# frontend FE_PORT for up to 15 s; it writes one line to OUTFILE when its
# connection ends ("closed=eof|rst|timeout ms=T recv=N").
hold() {
	_out=$1
	shift
	"$TCPCLI" -p "$FE_PORT" -m hold -n 10 -t 15000 "$@" >"$_out" 2>&1 &
	LASTPID=$!
	PIDS="$PIDS $LASTPID"
}

# ended OUTFILE: the client has reported the end of its connection.
ended() {
	[ -s "$1" ]
}
