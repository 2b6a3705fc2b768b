# Shared by the metrics_*.sh integration tests (sourced, after
# proxyd_lib.sh): scraping proxyd's Prometheus endpoint, validating the
# text (promtool when installed, and always our strict checker), reading
# sample values and checking JSON log lines.
PROMCHECK="$top_builddir/tests/prom-check"
[ -x "$PROMCHECK" ] || { echo "SKIP: $PROMCHECK not built"; exit 77; }
command -v curl >/dev/null || { echo "SKIP: curl is needed"; exit 77; }
command -v python3 >/dev/null || { echo "SKIP: python3 is needed"; exit 77; }
PROMTOOL=$(command -v promtool || true)

# scrape PORT FILE: GET /metrics into FILE; fails the test on an error
# status or a wrong content type.
scrape() {
	curl -sS -m 10 -D "$2.head" -o "$2" "http://127.0.0.1:$1/metrics" || fail "scrape of :$1"
	grep -q "^HTTP/1.1 200" "$2.head" || fail "scrape status: $(head -n 1 "$2.head")"
	grep -qi "^content-type: text/plain; version=0.0.4" "$2.head" || fail "scrape content type"
}

# validate FILE [OLDFILE]: the exposition is valid (promtool when present,
# our checker always); with OLDFILE, no counter went down since it.
validate() {
	if [ -n "$PROMTOOL" ]; then
		"$PROMTOOL" check metrics <"$1" >"$T/promtool.out" 2>&1 ||
			fail "promtool check metrics: $(cat "$T/promtool.out")"
	fi
	"$PROMCHECK" "$1" || fail "prom-check $1"
	if [ $# -ge 2 ]; then
		"$PROMCHECK" "$2" "$1" || fail "a counter went down between $2 and $1"
	fi
}

# value FILE SERIES: the value of the sample whose name{labels} is SERIES
# exactly (e.g. 'proxyd_frontend_sessions_total{proxy="fe"}'); empty if none.
value() {
	awk -v s="$2" 'index($0, s " ") == 1 { print $2; exit }' "$1"
}

# json_lines FILE KEYS...: every line of FILE starting with '{' parses as a
# JSON object holding KEYS; prints how many such lines there were.
json_lines() {
	_f=$1
	shift
	python3 - "$_f" "$@" <<'PY'
import json, sys
path, keys = sys.argv[1], sys.argv[2:]
n = 0
with open(path, encoding="utf-8") as f:
    for no, line in enumerate(f, 1):
        if not line.startswith("{"):
            continue
        obj = json.loads(line)
        missing = [k for k in keys if k not in obj]
        if missing:
            sys.exit("line %d: missing %s: %s" % (no, missing, line.strip()))
        n += 1
print(n)
PY
}

# start_proxyd_json CFG: start_proxyd for a configuration whose global log
# target has `format json`.
start_proxyd_json() {
	"$PROXYD" -f "$1" 2>"$T/proxyd.log" &
	PROXYD_PID=$!
	PIDS="$PIDS $PROXYD_PID"
	wait_grep '"event":"start"' "$T/proxyd.log" 100 || fail "proxyd did not start"
}

# scrape_during PID PORT: scrapes PORT into $T/m1, $T/m2, ... (at most 30)
# while PID runs, each checked against the one before (starting from
# $T/m0), then waits for PID (30 s at most; fails unless it exits 0) and
# scrapes once more into $T/mend. Sets SCRAPES to the number of scrapes
# made under load.
scrape_during() {
	_prev="$T/m0"
	_sn=1
	while kill -0 "$1" 2>/dev/null && [ $_sn -le 30 ]; do
		scrape "$2" "$T/m$_sn"
		validate "$T/m$_sn" "$_prev"
		_prev="$T/m$_sn"
		_sn=$((_sn + 1))
		sleep 0.05
	done
	wait_exit "$1" 300 || fail "load did not finish"
	[ "$EXIT_STATUS" = 0 ] || fail "load failed with status $EXIT_STATUS"
	scrape "$2" "$T/mend"
	validate "$T/mend" "$_prev"
	SCRAPES=$((_sn - 1))
}
