# Sourced by the integration libraries (proxyd_lib.sh, sv_lib.sh): what
# every test needs once its work directory T and its list of started pids
# PIDS are set.

# kill_pids: TERM, then KILL, every pid the test started; reaps them.
kill_pids() {
	for p in $PIDS; do kill "$p" 2>/dev/null; done
	sleep 0.3
	for p in $PIDS; do kill -9 "$p" 2>/dev/null; done
	wait 2>/dev/null
}

# fail MESSAGE: says it, shows the end of every log of the test, exits 1.
fail() {
	echo "FAIL: $*"
	for f in "$T"/*.log; do
		[ -f "$f" ] || continue
		echo "--- $f"
		tail -n 40 "$f"
	done
	exit 1
}
