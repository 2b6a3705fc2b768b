# Shared by the http_*.sh integration tests (sourced, after proxyd_lib.sh's
# conventions): nginx and the small origin server httpback on loopback
# ports, curl as the client. Every process started is recorded and killed.
. "$top_srcdir/tests/integration/proxyd_lib.sh"

HTTPBACK="$top_builddir/tests/integration/httpback"
[ -x "$HTTPBACK" ] || { echo "SKIP: $HTTPBACK not built"; exit 77; }
command -v curl >/dev/null || { echo "SKIP: curl is needed"; exit 77; }
NGINX=$(command -v nginx || echo /usr/sbin/nginx)

# start_nginx PORT: nginx serving $T/www on 127.0.0.1:PORT; each request is
# logged to $T/nginx.conn as "CONNECTION_SERIAL REQUEST_LINE".
start_nginx() {
	[ -x "$NGINX" ] || { echo "SKIP: nginx is needed"; exit 77; }
	mkdir -p "$T/www" "$T/ngx"
	# nginx's worker runs unprivileged: it must reach $T/www.
	chmod 755 "$T" "$T/www"
	cat >"$T/nginx.conf" <<NGX
worker_processes 1;
error_log $T/nginx-error.log;
pid $T/ngx/nginx.pid;
events { worker_connections 1024; }
http {
    log_format conn '\$connection \$request';
    access_log $T/nginx.conn conn;
    client_body_temp_path $T/ngx/cb;
    proxy_temp_path $T/ngx/p;
    fastcgi_temp_path $T/ngx/f;
    uwsgi_temp_path $T/ngx/u;
    scgi_temp_path $T/ngx/s;
    keepalive_requests 100000;
    server {
        listen 127.0.0.1:$1;
        root $T/www;
    }
}
NGX
	"$NGINX" -c "$T/nginx.conf" -p "$T/ngx" -g 'daemon off;' 2>>"$T/nginx-error.log" &
	PIDS="$PIDS $!"
	_n=0
	until curl -s -o /dev/null "http://127.0.0.1:$1/"; do
		_n=$((_n + 1))
		[ "$_n" -gt 100 ] && fail "nginx on $1 did not start"
		sleep 0.1
	done
}

# start_httpback PORT: the origin server; connections logged to $T/hb.PORT.conn.
start_httpback() {
	rm -f "$T/hb.$1.ready"
	"$HTTPBACK" -p "$1" -R "$T/hb.$1.ready" -l "$T/hb.$1.conn" 2>>"$T/httpback.log" &
	PIDS="$PIDS $!"
	wait_file "$T/hb.$1.ready" || fail "httpback on $1 did not start"
}

# nconn FILE: lines in a connection log (0 when absent).
nconn() {
	if [ -f "$1" ]; then wc -l <"$1" | tr -d ' '; else echo 0; fi
}

# last_http_line PATTERN: the last httplog line of proxyd matching PATTERN.
last_http_line() {
	# The answer may reach the client just before proxyd writes the line.
	wait_grep "$1" "$T/proxyd.log" 30 || true
	grep -- "$1" "$T/proxyd.log" | grep '\] ' | tail -n 1
}

# http_status URL [curl args...]: the status curl got (000 on failure).
http_status() {
	_u=$1
	shift
	curl -s -o /dev/null -w '%{http_code}' --max-time 10 "$@" "$_u"
}
