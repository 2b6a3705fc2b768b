#!/bin/sh
# Scrape cost of proxyd's Prometheus endpoint with many servers, measured
# from the event loop's side: proxyd times each rendering and exports it
# as proxyd_exporter_render_seconds in the next scrape.
# Usage: bench/prom_scrape.sh [SERVERS] [SCRAPES] [SOCKETS]   (from a build
# directory, or with PROXYD=path/to/proxyd). SOCKETS (default 10000) is
# how many sockets proxyd holds during the scrapes: SOCKETS/2 client
# connections, each with its server connection, all servers being one
# python3 listener. Ports 27400-27499.
set -eu
N=${1:-1000}
K=${2:-50}
S=${3:-10000}
PROXYD=${PROXYD:-./proxyd/proxyd}
[ -x "$PROXYD" ] || { echo "proxyd not found: set PROXYD" >&2; exit 1; }
T=$(mktemp -d "${TMPDIR:-/tmp}/promscrape.XXXXXX")
pid=""
hold=""
trap '[ -n "$hold" ] && kill "$hold" 2>/dev/null; [ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$T"' EXIT
{
	echo "global"
	echo "    stats prometheus 127.0.0.1:27410"
	echo "defaults"
	echo "    mode http"
	echo "    timeout connect 2s"
	echo "    timeout client 300s"
	echo "    timeout server 300s"
	echo "frontend fe"
	echo "    bind 127.0.0.1:27401"
	echo "    default_backend be0"
	b=0
	i=0
	while [ $i -lt "$N" ]; do
		if [ $((i % 100)) = 0 ]; then
			echo "backend be$b"
			b=$((b + 1))
		fi
		echo "    server srv$i 127.0.0.1:27402"
		i=$((i + 1))
	done
} >"$T/cfg"
"$PROXYD" -f "$T/cfg" 2>"$T/log" &
pid=$!
n=0
until curl -s -o /dev/null http://127.0.0.1:27410/metrics; do
	n=$((n + 1))
	[ $n -gt 100 ] && { echo "proxyd did not start" >&2; cat "$T/log" >&2; exit 1; }
	sleep 0.1
done
# The sockets: a listener standing for every server, and the clients.
python3 - "$S" "$T/held" <<'PY' &
import socket, sys, time
n = int(sys.argv[1]) // 2
srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", 27402))
srv.listen(4096)
srv.setblocking(False)
held, cli = [], []
for i in range(n):
    c = socket.create_connection(("127.0.0.1", 27401))
    cli.append(c)
    while True:
        try:
            held.append(srv.accept()[0])
        except BlockingIOError:
            break
deadline = time.time() + 30
while len(held) < n and time.time() < deadline:
    try:
        held.append(srv.accept()[0])
    except BlockingIOError:
        time.sleep(0.01)
open(sys.argv[2], "w").write("%d\n" % len(held))
time.sleep(600)
PY
hold=$!
n=0
until [ -s "$T/held" ]; do
	n=$((n + 1))
	[ $n -gt 600 ] && { echo "the connections were not established" >&2; exit 1; }
	sleep 0.1
done
i=0
: >"$T/us"
while [ $i -lt "$K" ]; do
	curl -s http://127.0.0.1:27410/metrics >"$T/m"
	awk '$1 == "proxyd_exporter_render_seconds" { printf "%d\n", $2 * 1e6 }' "$T/m" >>"$T/us"
	i=$((i + 1))
done
conns=$(awk '$1 == "proxyd_process_current_connections" { print $2 }' "$T/m")
size=$(wc -c <"$T/m")
series=$(grep -vc '^#' "$T/m")
sort -n "$T/us" | awk -v n="$N" -v size="$size" -v series="$series" -v conns="$conns" '
	{ v[NR] = $1 }
	END {
		printf "servers=%d client_conns=%d series=%d bytes=%d render_us: min=%d median=%d p90=%d max=%d (%d scrapes)\n",
		       n, conns, series, size, v[1], v[int((NR + 1) / 2)], v[int(NR * 0.9 + 0.5)], v[NR], NR
	}'
