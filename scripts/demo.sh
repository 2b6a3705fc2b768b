#!/bin/sh
# The main job: installs what is missing, builds in build/, then runs the
# supervised demo — proxysv supervising proxyd on examples/demo.cfg in front of
# two small demo backends — with some client traffic, a reload, and proxytop.
# With a terminal, proxytop runs live until you press q; without one, it prints
# a few frames. Everything the demo started is stopped on exit.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
sh scripts/deps.sh
[ -x configure ] || autoreconf -fi
mkdir -p build
cd build
[ -f Makefile ] || ../configure
make -j"$(nproc)"

B=$PWD
S=$top
export DEMO_DIR=/tmp/proxysv-demo
CTL=$DEMO_DIR/control.sock
sv_pid=""
traffic_pid=""
cleanup() {
	[ -z "$traffic_pid" ] || kill "$traffic_pid" 2>/dev/null || true
	if [ -n "$sv_pid" ]; then
		kill -TERM "$sv_pid" 2>/dev/null || true
		wait "$sv_pid" 2>/dev/null || true
	fi
	sh "$S/examples/demo-backends.sh" stop >/dev/null 2>&1 || true
}
trap cleanup EXIT INT TERM

sh "$S/examples/demo-backends.sh" start
"$B/supervisor/proxysv" -f "$S/examples/demo.cfg" 2>"$DEMO_DIR/proxysv.log" &
sv_pid=$!
i=0
until "$B/proxyctl" -S "$CTL" status >/dev/null 2>&1; do
	i=$((i + 1))
	if [ $i -gt 100 ] || ! kill -0 "$sv_pid" 2>/dev/null; then
		echo "demo: proxysv did not come up; its log:" >&2
		cat "$DEMO_DIR/proxysv.log" >&2
		exit 1
	fi
	sleep 0.1
done

# A little steady traffic through the proxy, so that the panels have something to show.
( while :; do curl -s -o /dev/null --max-time 2 http://127.0.0.1:8080/ || true; sleep 0.2; done ) &
traffic_pid=$!

echo "demo: proxysv pid $sv_pid, frontend http://127.0.0.1:8080/, control socket $CTL"
curl -s --max-time 2 http://127.0.0.1:8080/
curl -s --max-time 2 http://127.0.0.1:8080/
"$B/proxyctl" -S "$CTL" reload
"$B/proxyctl" -S "$CTL" show generations

if [ -t 0 ] && [ -t 1 ]; then
	echo "demo: starting proxytop (q quits, r reloads, Tab switches panels)"
	sleep 1
	"$B/proxytop" -S "$CTL"
else
	sleep 2
	for p in generations listeners sockets; do
		"$B/proxytop" -S "$CTL" --once --panel "$p"
	done
fi
