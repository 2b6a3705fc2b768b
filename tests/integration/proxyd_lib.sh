# Shared by the proxyd_*.sh integration tests (sourced). Every process a
# test starts is recorded and killed on exit; every wait is bounded.
set -u
: "${top_builddir:?top_builddir must be set}"
: "${top_srcdir:?top_srcdir must be set}"

PROXYD="$top_builddir/proxyd/proxyd"
TCPBACK="$top_builddir/tests/integration/tcpback"
TCPCLI="$top_builddir/tests/integration/tcpcli"
FDPASS="$top_builddir/tests/integration/fdpass"
for b in "$PROXYD" "$TCPBACK" "$TCPCLI" "$FDPASS"; do
	[ -x "$b" ] || { echo "SKIP: $b not built"; exit 77; }
done
command -v ss >/dev/null || { echo "SKIP: ss (iproute2) is needed"; exit 77; }

T=$(mktemp -d "${TMPDIR:-/tmp}/proxyd-it.XXXXXX")
PIDS=""
PROXYD_PID=""
# Sanitizer reports go to the proxyd log; a leak or error fails the test.
export ASAN_OPTIONS="${ASAN_OPTIONS:-}${ASAN_OPTIONS:+:}abort_on_error=0"

. "$top_srcdir/tests/integration/common.sh"

cleanup() {
	kill_pids
	[ -n "${KEEP:-}" ] || rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# wait_file FILE [TENTHS]: waits until FILE exists (default 10 s).
wait_file() {
	_n=0
	while [ ! -e "$1" ]; do
		_n=$((_n + 1))
		[ "$_n" -gt "${2:-100}" ] && return 1
		sleep 0.1
	done
	return 0
}

# wait_grep PATTERN FILE [TENTHS]: waits until FILE contains PATTERN.
wait_grep() {
	_n=0
	while ! grep -q -- "$1" "$2" 2>/dev/null; do
		_n=$((_n + 1))
		[ "$_n" -gt "${3:-100}" ] && return 1
		sleep 0.1
	done
	return 0
}

# wait_conns PORT N [TENTHS]: waits until at least N established
# connections go to 127.0.0.1:PORT (the proxy's server side: they exist
# only once proxyd accepted and connected).
wait_conns() {
	_n=0
	while [ "$(ss -Htn state established "( dport = :$1 )" 2>/dev/null | wc -l)" -lt "$2" ]; do
		_n=$((_n + 1))
		[ "$_n" -gt "${3:-100}" ] && return 1
		sleep 0.05
	done
	return 0
}

# start_back PORT MODE [ARGS...]: a tcpback on 127.0.0.1:PORT.
start_back() {
	_port=$1
	shift
	rm -f "$T/back.$_port.ready"
	"$TCPBACK" -p "$_port" -R "$T/back.$_port.ready" -m "$@" 2>>"$T/back.log" &
	PIDS="$PIDS $!"
	wait_file "$T/back.$_port.ready" || fail "backend on $_port did not start"
}

# start_proxyd CFG [LOG]: runs proxyd and waits for its start line.
start_proxyd() {
	_log=${2:-$T/proxyd.log}
	"$PROXYD" -f "$1" 2>"$_log" &
	PROXYD_PID=$!
	PIDS="$PIDS $PROXYD_PID"
	wait_grep "event=start" "$_log" 100 || fail "proxyd did not start"
}

# wait_exit PID TENTHS: 0 if PID exited in time (its status in $EXIT_STATUS).
wait_exit() {
	_n=0
	while kill -0 "$1" 2>/dev/null; do
		_n=$((_n + 1))
		if [ "$_n" -gt "$2" ]; then
			return 1
		fi
		sleep 0.1
	done
	wait "$1"
	EXIT_STATUS=$?
	return 0
}

# stop_proxyd [LOG]: SIGTERM, wait, and check the log for sanitizer reports.
stop_proxyd() {
	[ -n "$PROXYD_PID" ] || return 0
	kill -TERM "$PROXYD_PID" 2>/dev/null
	wait_exit "$PROXYD_PID" 100 || fail "proxyd did not exit on SIGTERM"
	[ "$EXIT_STATUS" = 0 ] || fail "proxyd exited with $EXIT_STATUS"
	check_sanitizers "${1:-$T/proxyd.log}"
	PROXYD_PID=""
}

check_sanitizers() {
	if grep -q "AddressSanitizer\|LeakSanitizer\|runtime error:" "$1"; then
		fail "sanitizer report in $1"
	fi
}

# field N of the session log line matching PATTERN (tcplog: 1 client,
# 2 date, 3 frontend, 4 backend/server, 5 Tw/Tc/Tt, 6 bytes, 7 term,
# 8 counts, 9 queues).
log_field() {
	grep -- "$1" "$2" | grep '\] ' | tail -n 1 | awk -v n="$3" '{ print $n }'
}

# Tt (ms) of the last session line matching PATTERN.
log_tt() {
	log_field "$1" "$2" 5 | awk -F/ '{ print $3 }'
}

# in_range VALUE LOW HIGH
in_range() {
	[ "$1" -ge "$2" ] && [ "$1" -le "$3" ]
}
