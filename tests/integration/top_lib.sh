# Shared by the top_*.sh integration tests (sourced). Each test runs under
# timeout(1), names its tmux session pt-top-PID and kills only that session
# and the helper processes it started, in an EXIT trap. Waits are bounded.

: "${top_builddir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_srcdir:=$top_builddir}"
PROXYTOP="$top_builddir/proxytop"
TOP_NAME=$(basename "$0" .sh)
TOP_SESSION="pt-top-$$"
TOP_PIDS=""
TOP_TMP=""

top_fail() {
	echo "FAIL $TOP_NAME: $*" >&2
	if tmux has-session -t "$TOP_SESSION" 2>/dev/null; then
		echo "--- screen:" >&2
		tmux capture-pane -p -t "$TOP_SESSION" >&2
	fi
	exit 1
}

top_skip() {
	echo "SKIP $TOP_NAME: $*" >&2
	exit 77
}

top_timebox() {
	if [ -z "${TOP_TIMED:-}" ]; then
		TOP_TIMED=1
		export TOP_TIMED
		exec timeout -k 5 "$1" /bin/sh "$0"
	fi
}

top_cleanup() {
	rc=$?
	tmux kill-session -t "$TOP_SESSION" 2>/dev/null
	for p in $TOP_PIDS; do
		kill -TERM "$p" 2>/dev/null
	done
	for p in $TOP_PIDS; do
		wait "$p" 2>/dev/null
	done
	# after the helpers: a namespace goes once its processes are gone
	[ -n "${TOP_EXTRA_CLEANUP:-}" ] && $TOP_EXTRA_CLEANUP
	[ -n "$TOP_TMP" ] && rm -rf "$TOP_TMP"
	exit $rc
}

top_setup() {
	[ -x "$PROXYTOP" ] || top_fail "$PROXYTOP not built"
	command -v tmux >/dev/null 2>&1 || top_skip "tmux not installed"
	TOP_TMP=$(mktemp -d)
	trap top_cleanup EXIT
	trap 'exit 1' INT TERM
}

top_screen() {
	tmux capture-pane -p -t "$TOP_SESSION" 2>/dev/null
}

# top_wait_screen REGEX [TENTHS]: waits (default 5 s) until the screen
# matches the extended regex.
top_wait_screen() {
	n=${2:-50}
	while [ "$n" -gt 0 ]; do
		top_screen | grep -Eq -- "$1" && return 0
		sleep 0.1
		n=$((n - 1))
	done
	top_fail "screen never showed /$1/"
}

top_wait_gone() {
	n=${1:-50}
	while [ "$n" -gt 0 ]; do
		tmux has-session -t "$TOP_SESSION" 2>/dev/null || return 0
		sleep 0.1
		n=$((n - 1))
	done
	top_fail "proxytop did not exit"
}

top_keys() {
	tmux send-keys -t "$TOP_SESSION" "$@"
}
