# Shared by the diag_*.sh integration tests (sourced, not run).
#
# Every test: runs under `timeout`, starts its helpers with peer_start (which
# records their pids), and cleans up in an EXIT trap that signals only those
# pids. JSON is checked with sed/grep on the one-line output of
# `proxyctl diagnose --json`, so that no JSON tool is needed.

: "${top_builddir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_srcdir:=$top_builddir}"
PROXYCTL="$top_builddir/proxyctl"
SOCKPEER="$top_builddir/tests/integration/sockpeer"
DIAG_PIDS=""
DIAG_TMP=""
DIAG_NAME=$(basename "$0" .sh)

diag_log() {
	echo "$DIAG_NAME: $*" >&2
}

diag_fail() {
	echo "FAIL $DIAG_NAME: $*" >&2
	exit 1
}

diag_skip() {
	echo "SKIP $DIAG_NAME: $*" >&2
	exit 77
}

diag_need_root() {
	[ "$(id -u)" = 0 ] || diag_skip "needs root"
}

diag_need_tools() {
	[ -x "$PROXYCTL" ] || diag_fail "$PROXYCTL not built"
	[ -x "$SOCKPEER" ] || diag_fail "$SOCKPEER not built"
	command -v ss >/dev/null 2>&1 || diag_skip "ss (iproute2) not installed"
}

# Runs the rest of the test under timeout(1): the script re-executes itself
# once with DIAG_TIMED set.
diag_timebox() {
	if [ -z "${DIAG_TIMED:-}" ]; then
		DIAG_TIMED=1
		export DIAG_TIMED
		exec timeout -k 5 "$1" /bin/sh "$0"
	fi
}

diag_cleanup() {
	rc=$?
	for p in $DIAG_PIDS; do
		kill -CONT "$p" 2>/dev/null
		kill -TERM "$p" 2>/dev/null
	done
	for p in $DIAG_PIDS; do
		wait "$p" 2>/dev/null
	done
	[ -n "${DIAG_EXTRA_CLEANUP:-}" ] && eval "$DIAG_EXTRA_CLEANUP"
	[ -n "$DIAG_TMP" ] && rm -rf "$DIAG_TMP"
	exit $rc
}

diag_setup() {
	DIAG_TMP=$(mktemp -d "${TMPDIR:-/tmp}/$DIAG_NAME.XXXXXX") || diag_fail "mktemp"
	trap diag_cleanup EXIT
	trap 'exit 1' INT TERM HUP
}

# diag_wait_line FILE REGEX [SECONDS]: waits (bounded) for a line in FILE.
diag_wait_line() {
	i=0
	max=$(( ${3:-10} * 20 ))
	while ! grep -q "$2" "$1" 2>/dev/null; do
		i=$((i + 1))
		[ $i -gt $max ] && return 1
		sleep 0.05
	done
	return 0
}

# peer_start NAME [PREFIX...] -- SOCKPEER-ARGS...: starts a sockpeer (maybe
# behind a prefix such as `ip netns exec NS`, which execs it) in the
# background, records its pid in $DIAG_PIDS and in NAME_pid, and waits for
# its "ready" line.
peer_start() {
	name=$1
	shift
	prefix=""
	while [ "$1" != "--" ]; do
		prefix="$prefix $1"
		shift
	done
	shift
	$prefix "$SOCKPEER" "$@" -t 60 >"$DIAG_TMP/$name.out" 2>"$DIAG_TMP/$name.err" &
	pid=$!
	DIAG_PIDS="$DIAG_PIDS $pid"
	eval "${name}_pid=$pid"
	if ! diag_wait_line "$DIAG_TMP/$name.out" "^ready pid=$pid" 10; then
		cat "$DIAG_TMP/$name.out" "$DIAG_TMP/$name.err" >&2
		diag_fail "sockpeer $name ($*) not ready"
	fi
}

# peer_stop PID: ends one helper this test started.
peer_stop() {
	kill -CONT "$1" 2>/dev/null
	kill -TERM "$1" 2>/dev/null
	wait "$1" 2>/dev/null
	diag_forget "$1"
}

# diag_forget PID: a helper that has been waited for is no longer ours.
diag_forget() {
	DIAG_PIDS=$(echo "$DIAG_PIDS" | sed "s/ $1\\b//")
}

# diag_run OUT [ARGS...]: proxyctl diagnose --json ARGS > OUT; sets diag_rc.
diag_run() {
	out=$1
	shift
	diag_rc=0
	"$PROXYCTL" diagnose --json "$@" >"$out" 2>"$out.err" || diag_rc=$?
	if [ "$diag_rc" -ge 2 ]; then
		cat "$out.err" >&2
		diag_fail "proxyctl diagnose $* exited $diag_rc"
	fi
	grep -q '^{"version":1,' "$out" || diag_fail "no JSON object from diagnose $*"
}

# json_findings FILE KIND: one line per finding of KIND (the finding's own
# object with whatever follows it up to the next finding).
json_findings() {
	sed 's/{"kind":/\n{"kind":/g' "$1" | grep "^{\"kind\":\"$2\"" || true
}

# json_count FILE KIND: number of findings of KIND.
json_count() {
	json_findings "$1" "$2" | grep -c . || true
}

# json_num TEXT KEY: the first number after "KEY": in TEXT.
json_num() {
	printf '%s\n' "$1" | grep -o "\"$2\":[0-9-]*" | head -n 1 | cut -d: -f2
}

# ss_count FILTER...: number of lines of `ss -Htan FILTER`.
ss_count() {
	ss -Htan "$@" | grep -c . || true
}

# json_lsocks FILE: "INODE QUEUE BACKLOG" for every listening socket in the
# listeners part of the output (sorted).
json_lsocks() {
	sed 's/"findings":.*//' "$1" |
		grep -o '{"ino":[0-9]*,"queue":[0-9]*,"backlog":[0-9]*' |
		sed 's/[^0-9][^0-9]*/ /g; s/^ //; s/ $//' | sort
}

# ss_lsocks PORT: "INODE RECV-Q SEND-Q" of the listening sockets on PORT as
# `ss -ltne` shows them (sorted).
ss_lsocks() {
	ss -Hltne "sport = :$1" |
		awk '{ ino = "?"; for (i = 1; i <= NF; i++) if ($i ~ /^ino:/) ino = substr($i, 5);
		       print ino, $2, $3 }' | sort
}

# ss_pid_state PID STATE [FILTER...]: sockets of process PID in STATE (ss
# state name, e.g. close-wait) as `ss -tanp` counts them.
ss_pid_state() {
	p=$1
	st=$2
	shift 2
	ss -Htanp state "$st" "$@" | grep -c "pid=$p," || true
}
