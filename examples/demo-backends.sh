#!/bin/sh
# The two demo backends of examples/demo.cfg: tiny HTTP/1.0 responders on
# 127.0.0.1:8081 and 127.0.0.1:8082 (socat, one process per connection).
#
#   demo-backends.sh start   start both, pids in $DEMO_DIR/backends.pid
#   demo-backends.sh stop    stop them
#
# DEMO_DIR defaults to /tmp/proxysv-demo (the demo's runtime-dir).
set -eu
DEMO_DIR=${DEMO_DIR:-/tmp/proxysv-demo}
PIDFILE=$DEMO_DIR/backends.pid

start() {
	command -v socat >/dev/null || { echo "demo-backends: socat is needed" >&2; exit 1; }
	mkdir -p "$DEMO_DIR"
	[ ! -s "$PIDFILE" ] || stop
	for n in 1 2; do
		printf 'HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\nhello from demo backend %s\n' \
			"$n" >"$DEMO_DIR/response$n"
		socat "TCP-LISTEN:808$n,bind=127.0.0.1,reuseaddr,fork" "SYSTEM:cat $DEMO_DIR/response$n" \
			</dev/null >/dev/null 2>&1 &
		echo $! >>"$PIDFILE"
	done
	# Bounded wait until both listen.
	i=0
	while [ $i -lt 50 ]; do
		if ss -ltn 'sport = :8081' | grep -q LISTEN && ss -ltn 'sport = :8082' | grep -q LISTEN; then
			echo "demo backends listening on 127.0.0.1:8081 and 127.0.0.1:8082"
			return 0
		fi
		i=$((i + 1))
		sleep 0.1
	done
	echo "demo-backends: backends did not start" >&2
	exit 1
}

stop() {
	[ -f "$PIDFILE" ] || return 0
	while read -r p; do
		kill "$p" 2>/dev/null || true
	done <"$PIDFILE"
	rm -f "$PIDFILE"
}

case "${1:-}" in
start) start ;;
stop) stop ;;
*) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
