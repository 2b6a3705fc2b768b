#!/bin/sh
# The stats socket on loopback: socket files and modes, HAProxy's CSV header
# and parsing with awk/cut, the effective maxconn of incident 3 and the
# queue behind it, `set server ... state maint` stopping new sessions,
# access levels, several commands per line, prompt mode, several clients,
# and a stale socket file left by a killed process.
# Ports 22550-22569.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/proxyd_backend_lib.sh"

FE_PORT=22550
FE2_PORT=22551
S1=22552
S2=22553
S3=22554
ADMIN=$WORK/admin.sock
OPER=$WORK/oper.sock
USER=$WORK/user.sock

cat >"$WORK/proxyd.cfg" <<CFG
global
	stats socket $ADMIN mode 600 level admin
	stats socket $OPER mode 660 level operator
	stats socket $USER mode 666 level user
defaults
	mode tcp
	timeout connect 1s
	timeout client 1m
	timeout server 1m
	timeout queue 30s
frontend fe
	bind 127.0.0.1:$FE_PORT
	default_backend be
backend be
	balance roundrobin
	server s1 127.0.0.1:$S1
	server s2 127.0.0.1:$S2
frontend fe_rmi
	bind 127.0.0.1:$FE2_PORT
	default_backend rmi
backend rmi
	fullconn 10000
	server r1 127.0.0.1:$S3 minconn 1 maxconn 100
CFG

start_holdback $S1
start_holdback $S2
start_holdback $S3

# A stale socket file (as a killed process leaves it) is replaced.
: >"$ADMIN"
start_proxyd "$WORK/proxyd.cfg" "$ADMIN"
[ -S "$ADMIN" ] || fail "admin socket is not a socket"
[ "$(stat -c %a "$ADMIN")" = 600 ] || fail "admin socket mode $(stat -c %a "$ADMIN")"
[ "$(stat -c %a "$OPER")" = 660 ] || fail "operator socket mode"
[ "$(stat -c %a "$USER")" = 666 ] || fail "user socket mode"
ok "sockets created with their modes, stale file replaced"

# HAProxy 2.6's header, exactly, then this proxy's own columns.
HAP='# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,eresp,wretr,wredis,status,weight,act,bck,chkfail,chkdown,lastchg,downtime,qlimit,pid,iid,sid,throttle,lbtot,tracked,type,rate,rate_lim,rate_max,check_status,check_code,check_duration,hrsp_1xx,hrsp_2xx,hrsp_3xx,hrsp_4xx,hrsp_5xx,hrsp_other,hanafail,req_rate,req_rate_max,req_tot,cli_abrt,srv_abrt,comp_in,comp_out,comp_byp,comp_rsp,lastsess,last_chk,last_agt,qtime,ctime,rtime,ttime,agent_status,agent_code,agent_duration,check_desc,agent_desc,check_rise,check_fall,check_health,agent_rise,agent_fall,agent_health,addr,cookie,mode,algo,conn_rate,conn_rate_max,conn_tot,intercepted,dcon,dses,wrew,connect,reuse,cache_lookups,cache_hits,srv_icur,src_ilim,qtime_max,ctime_max,rtime_max,ttime_max,eint,idle_conn_cur,safe_conn_cur,used_conn_cur,need_conn_est,uweight,agg_server_status,agg_server_check_status,agg_check_status,-,ssl_sess,ssl_reused_sess,ssl_failed_handshake,h2_headers_rcvd,h2_data_rcvd,h2_settings_rcvd,h2_rst_stream_rcvd,h2_goaway_rcvd,h2_detected_conn_protocol_errors,h2_detected_strm_protocol_errors,h2_rst_stream_resp,h2_goaway_resp,h2_open_connections,h2_backend_open_streams,h2_total_connections,h2_backend_total_streams,h1_open_connections,h1_open_streams,h1_total_connections,h1_total_streams,h1_bytes_in,h1_bytes_out,h1_spliced_bytes_in,h1_spliced_bytes_out,'
stats "$USER" "show stat" >"$WORK/stat.csv" || fail "show stat on the user socket"
[ "$(head -n 1 "$WORK/stat.csv")" = "${HAP}eff_maxconn,minconn,fullconn," ] || fail "CSV header differs"
# Every line has the header's number of fields; cut -f18 is the status.
awk -F, 'NF && NF != 132 { bad = 1 } END { exit bad }' "$WORK/stat.csv" || fail "field counts"
[ "$(grep '^be,s1,' "$WORK/stat.csv" | cut -d, -f18)" = "no check" ] || fail "cut -f18 status"
[ "$(grep '^fe,FRONTEND,' "$WORK/stat.csv" | cut -d, -f18)" = OPEN ] || fail "frontend status"
[ "$(tail -n 1 "$WORK/stat.csv")" = "" ] || fail "answer does not end with an empty line"
ok "show stat: HAProxy 2.6 header + eff_maxconn,minconn,fullconn; awk and cut parse it"

# Incident 3: minconn 1, maxconn 100, fullconn 10000 -> effective limit 1.
[ "$(stat_col "$USER" rmi r1 slim)" = 100 ] || fail "slim"
[ "$(stat_col "$USER" rmi r1 eff_maxconn)" = 1 ] || fail "eff_maxconn $(stat_col "$USER" rmi r1 eff_maxconn)"
FE_PORT=$FE2_PORT
hold "$WORK/q1.out"
Q1=$LASTPID
wait_until 3000 stat_is "$USER" rmi r1 scur 1 || fail "first rmi session"
hold "$WORK/q2.out"
hold "$WORK/q3.out"
wait_until 3000 stat_is "$USER" rmi BACKEND qcur 2 || fail "queue: $(stat_col "$USER" rmi BACKEND qcur)"
[ "$(stat_col "$USER" rmi r1 scur)" = 1 ] || fail "r1 scur beyond its effective limit"
[ "$(stat_col "$USER" rmi BACKEND scur)" = 3 ] || fail "backend scur (beconn) counts queued sessions"
stats "$USER" "show servers limits rmi" >"$WORK/limits.txt"
grep -q '^rmi/r1 UP 1 0 1 100 1 10000 3 - 100% dynamic(beconn<fullconn)$' "$WORK/limits.txt" ||
	fail "show servers limits: $(cat "$WORK/limits.txt")"
ok "incident 3 visible: slim=100, eff_maxconn=1, qcur=2, show servers limits says why"

# The slot holder leaves: the oldest queued session gets the slot.
kill "$Q1" 2>/dev/null
wait_until 3000 stat_is "$USER" rmi BACKEND qcur 1 || fail "queue not served when the slot freed"
[ "$(stat_col "$USER" rmi r1 scur)" = 1 ] || fail "r1 scur after release"
ended "$WORK/q2.out" && fail "the oldest queued session ended"
[ "$(stat_col "$USER" rmi BACKEND qmax)" = 2 ] || fail "qmax"
# The runtime remedy: minconn = maxconn makes the limit static.
[ "$(stats "$OPER" "set minconn server rmi/r1 100")" = "Permission denied" ] || fail "operator set minconn"
[ "$(stats "$ADMIN" "set minconn server rmi/r1 100")" = "" ] || fail "admin set minconn"
wait_until 3000 stat_is "$USER" rmi r1 scur 2 || fail "raised limit did not serve the queue"
[ "$(stat_col "$USER" rmi BACKEND qcur)" = 0 ] || fail "queue not empty"
[ "$(stat_col "$USER" rmi r1 eff_maxconn)" = 100 ] || fail "eff_maxconn after the fix"
# set maxconn server lowers the limit: the next session waits.
[ "$(stats "$OPER" "set maxconn server rmi/r1 5")" = "Permission denied" ] || fail "operator set maxconn"
[ "$(stats "$ADMIN" "set maxconn server rmi/r1 2")" = "" ] || fail "admin set maxconn"
[ "$(stat_col "$USER" rmi r1 slim)" = 2 ] || fail "slim after set maxconn"
hold "$WORK/q4.out"
wait_until 3000 stat_is "$USER" rmi BACKEND qcur 1 || fail "no queueing at the new maxconn"
ok "FIFO queue served on release; set minconn/maxconn server change the limit at runtime"
FE_PORT=22550

# set server state maint: no new sessions on s1.
[ "$(stats "$USER" "set server be/s1 state maint")" = "Permission denied" ] || fail "user may not"
[ "$(stats "$OPER" "set server be/s1 state maint")" = "Permission denied" ] || fail "operator may not"
[ "$(stats "$ADMIN" "set server be/s1 state maint")" = "" ] || fail "admin maint"
[ "$(stat_col "$USER" be s1 status)" = MAINT ] || fail "s1 not MAINT"
before=$(stat_col "$USER" be s1 stot)
i=0
while [ $i -lt 6 ]; do
	timeout 5 "$TCPCLI" -p $FE_PORT -m echo -n 100 -t 3000 >/dev/null || fail "session through s2"
	i=$((i + 1))
done
[ "$(stat_col "$USER" be s1 stot)" = "$before" ] || fail "s1 got sessions in maintenance"
[ "$(stat_col "$USER" be s2 stot)" -ge 6 ] || fail "s2 did not take the sessions"
stats "$USER" "show servers state be" >"$WORK/state.txt"
sed -n 1p "$WORK/state.txt" | grep -qx 1 || fail "servers state version"
awk '$4 == "s1" { exit !($7 == 1 && $6 == 0) }' "$WORK/state.txt" || fail "servers state of s1: $(cat "$WORK/state.txt")"
[ "$(stats "$ADMIN" "set server be/s1 state ready")" = "" ] || fail "ready"
[ "$(stat_col "$USER" be s1 status)" = "no check" ] || fail "s1 not back"
ok "maint stops new sessions (s1 stot stayed $before), ready restores"

# Levels and messages, several commands per line.
[ "$(stats "$USER" "show sess")" = "Permission denied" ] || fail "user show sess"
stats "$OPER" "show sess" | grep -q 'fe=fe_rmi' || fail "operator show sess"
[ "$(stats "$ADMIN" "disable server be/nosuch")" = "No such server." ] || fail "no such server"
[ "$(stats "$ADMIN" "disable server nosuch/s1")" = "No such backend." ] || fail "no such backend"
out=$(stats "$ADMIN" "disable server be/s2; show stat be 4 -1; enable server be/s2")
echo "$out" | grep -q '^be,s2,.*,MAINT,' || fail "';' separated commands"
[ "$(stat_col "$USER" be s2 status)" = "no check" ] || fail "enable server"
grep -q 'event=server_state backend=be server=s2 from=UP to=MAINT' "$WORK/proxyd.log" || fail "MAINT not logged"
ok "levels enforced (user < operator < admin), HAProxy's messages, ';' lists"

# Interactive mode keeps the connection for several lines.
out=$(printf 'prompt\nshow info\nshow cli level\nquit\n' | timeout 5 socat -t 5 stdio "UNIX-CONNECT:$OPER")
echo "$out" | grep -q 'Name: proxyd' || fail "prompt: show info"
echo "$out" | grep -q 'operator' || fail "prompt: level"
echo "$out" | grep -q '^> ' || fail "prompt: no prompt"
ok "prompt mode"

# Several clients at once.
i=0
while [ $i -lt 8 ]; do
	(stats "$USER" "show info" >"$WORK/info.$i") &
	i=$((i + 1))
done
wait_until 5000 sh -c "cat $WORK/info.* | grep -c '^Pid: ' | grep -qx 8" || fail "parallel clients"
grep -q "^Pid: $PROXYD_PID\$" "$WORK/info.0" || fail "Pid"
ok "8 parallel clients answered"

# A clean stop removes the socket files.
kill "$PROXYD_PID"
wait_until 5000 sh -c "! test -e $ADMIN && ! test -e $USER" || fail "socket files left behind"
ok "socket files removed at exit"
exit 0
