# Shared by the sv_*.sh integration tests (sourced): proxysv supervising
# proxyd on loopback. Every process a test starts is recorded and killed on
# exit; every wait is bounded. Ports: 23000-23999, one block of ten per test.
set -u
: "${top_builddir:?top_builddir must be set}"
: "${top_srcdir:?top_srcdir must be set}"

[ "$(id -u)" = 0 ] || { echo "SKIP: needs root"; exit 77; }
PROXYSV="$top_builddir/supervisor/proxysv"
PROXYD="$top_builddir/proxyd/proxyd"
LOADCLI="$top_builddir/tests/integration/loadcli"
PROXYCTL="$top_builddir/proxyctl"
for b in "$PROXYSV" "$PROXYD" "$LOADCLI" "$PROXYCTL"; do
	[ -x "$b" ] || { echo "SKIP: $b not built"; exit 77; }
done
for t in socat sqlite3; do
	command -v "$t" >/dev/null || { echo "SKIP: $t not installed"; exit 77; }
done

T=$(mktemp -d "${TMPDIR:-/tmp}/sv-it.XXXXXX")
PIDS=""
SV_PID=""
export ASAN_OPTIONS="${ASAN_OPTIONS:-}${ASAN_OPTIONS:+:}abort_on_error=0"
. "$top_srcdir/tests/integration/common.sh"

cleanup() {
	# proxysv first, with a fast stop (two signals): its generations go too.
	if [ -n "$SV_PID" ]; then
		kids=$(pgrep -P "$SV_PID" 2>/dev/null)
		kill "$SV_PID" 2>/dev/null; sleep 0.1; kill "$SV_PID" 2>/dev/null
		i=0
		while kill -0 "$SV_PID" 2>/dev/null && [ $i -lt 50 ]; do
			sleep 0.1; i=$((i + 1))
		done
		for p in $kids; do kill -9 "$p" 2>/dev/null; done
	fi
	kill_pids
	[ -n "${KEEP:-}" ] || rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# sv_config FILE FRONT_PORT BACK_PORT [supervisor lines...]
sv_config() {
	f=$1 fp=$2 bp=$3
	shift 3
	{
		printf 'global\n    maxconn 2000\n'
		printf 'defaults\n    mode tcp\n    timeout connect 2s\n'
		printf '    timeout client 30s\n    timeout server 30s\n'
		printf '    timeout client-fin 3s\n    timeout server-fin 3s\n'
		printf 'frontend fe\n    bind 127.0.0.1:%s\n    default_backend be\n' "$fp"
		printf 'backend be\n    server s1 127.0.0.1:%s\n' "$bp"
		printf 'supervisor\n    runtime-dir %s/run\n    proxyd %s\n' "$T" "$PROXYD"
		for l in "$@"; do printf '    %s\n' "$l"; done
	} >"$f"
}

# start_echo PORT: an echo backend, waited for.
start_echo() {
	"$LOADCLI" echo -l "$1" -R "$T/echo.$1.ready" >"$T/echo.$1.log" 2>&1 &
	PIDS="$PIDS $!"
	i=0
	while [ ! -f "$T/echo.$1.ready" ]; do
		i=$((i + 1)); [ $i -lt 100 ] || fail "echo backend on $1 did not start"
		sleep 0.05
	done
}

# ctl CMD...: one control request, its answer on stdout.
ctl() {
	printf '%s\n' "$*" | socat -t 10 -T 15 - "UNIX-CONNECT:$T/run/control.sock"
}

# start_sv CFG: proxysv in the background, waited for until a generation is active.
start_sv() {
	"$PROXYSV" -f "$1" --db "$T/run/incidents.db" >"$T/sv.log" 2>&1 &
	SV_PID=$!
	PIDS="$PIDS $SV_PID"
	wait_active 10 || fail "no active generation after 10 s"
}

# wait_active SECONDS [NOT_GEN]: until a generation (other than NOT_GEN) is active.
wait_active() {
	i=0
	while [ $i -lt $(($1 * 10)) ]; do
		g=$(active_gen)
		if [ -n "$g" ] && [ "$g" != null ] && [ "$g" != "${2:-}" ]; then
			return 0
		fi
		i=$((i + 1))
		sleep 0.1
	done
	return 1
}

active_gen() {
	[ -S "$T/run/control.sock" ] || return 0
	ctl status --json 2>/dev/null | sed -n 's/.*"active_gen":\([0-9a-z]*\).*/\1/p'
}

# live_gens: number of generations not exited, by the supervisor's account.
live_gens() {
	ctl show generations --json | grep -o '"state":"[a-z]*"' | grep -vc exited
}

# proxyd children of proxysv, by the kernel's account.
proxyd_children() {
	n=0
	for p in $(pgrep -P "$SV_PID" 2>/dev/null); do
		[ "$(cat /proc/$p/comm 2>/dev/null)" = proxyd ] && n=$((n + 1))
	done
	echo $n
}

db() {
	sqlite3 -readonly "$T/run/incidents.db" "$1"
}
