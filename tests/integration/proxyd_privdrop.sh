#!/bin/sh
# After binding, proxyd switches to `user`/`group` (and `chroot`), writes
# its pid file first, and still forwards. Needs root. Ports 22350-22399.
. "$top_srcdir/tests/integration/proxyd_lib.sh"

[ "$(id -u)" = 0 ] || { echo "SKIP: needs root"; exit 77; }
id nobody >/dev/null 2>&1 || { echo "SKIP: no user nobody"; exit 77; }
P=22350
start_back $((P + 21)) echo
mkdir -p "$T/empty"
cat >"$T/proxyd.cfg" <<CFG
global
    log stderr local0
    user nobody
    group nogroup
    chroot $T/empty
defaults
    mode tcp
    log global
    timeout connect 2s
    timeout client 10s
    timeout server 10s
listen priv
    bind 127.0.0.1:$((P + 1))
    server s1 127.0.0.1:$((P + 21))
CFG
getent group nogroup >/dev/null || sed -i '/group nogroup/d' "$T/proxyd.cfg"
# LeakSanitizer reads /proc, which the chroot hides: no leak check here.
ASAN_OPTIONS="$ASAN_OPTIONS:detect_leaks=0" \
	"$PROXYD" -f "$T/proxyd.cfg" -p "$T/proxyd.pid" 2>"$T/proxyd.log" &
PROXYD_PID=$!
PIDS="$PIDS $PROXYD_PID"
wait_grep "event=start" "$T/proxyd.log" 100 || fail "proxyd did not start"
[ "$(cat "$T/proxyd.pid")" = "$PROXYD_PID" ] || fail "pid file"
uid=$(awk '/^Uid:/ { print $2 }' /proc/"$PROXYD_PID"/status)
[ "$uid" = "$(id -u nobody)" ] || fail "still uid $uid"
root=$(readlink /proc/"$PROXYD_PID"/root)
[ "$root" = "$T/empty" ] || fail "not chrooted: $root"
out=$(timeout 10 "$TCPCLI" -p $((P + 1)) -m echo -n 100000 -t 5000) || fail "forwarding: $out"
echo "privdrop: uid=$uid root=$root $out"
stop_proxyd
echo "PASS"
