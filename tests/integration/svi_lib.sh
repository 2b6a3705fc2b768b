# Shared by the svi_*.sh integration tests (sourced): incidents reproduced
# against proxyd under proxysv, on top of sv_lib.sh. Ports 26000-26999, one
# block of ten per test.
. "$top_srcdir/tests/integration/sv_lib.sh"

# svi_config FILE FRONT_PORT [global lines] -- [frontend/backend lines] -- [supervisor lines]
# Writes a configuration with a stats socket at $T/run/stats.sock (admin),
# without timeout client-fin / server-fin (the tests that need them add them).
svi_config() {
	f=$1 fp=$2
	shift 2
	{
		printf 'global\n    maxconn 2000\n    stats socket %s/run/stats.sock level admin\n' "$T"
		while [ $# -gt 0 ] && [ "$1" != -- ]; do printf '    %s\n' "$1"; shift; done
		[ $# -gt 0 ] && shift
		printf 'defaults\n    mode tcp\n    timeout connect 2s\n'
		printf '    timeout client 60s\n    timeout server 60s\n'
		printf 'frontend fe\n    bind 127.0.0.1:%s\n    default_backend be\n' "$fp"
		printf 'backend be\n'
		while [ $# -gt 0 ] && [ "$1" != -- ]; do printf '    %s\n' "$1"; shift; done
		[ $# -gt 0 ] && shift
		printf 'supervisor\n    runtime-dir %s/run\n    proxyd %s\n' "$T" "$PROXYD"
		for l in "$@"; do printf '    %s\n' "$l"; done
	} >"$f"
}

# wait_sql SECONDS SQL: until the query returns a non-empty, non-zero answer;
# the answer on stdout.
wait_sql() {
	n=$(($1 * 10))
	i=0
	while [ $i -lt $n ]; do
		r=$(db "$2" 2>/dev/null)
		if [ -n "$r" ] && [ "$r" != 0 ]; then
			echo "$r"
			return 0
		fi
		i=$((i + 1))
		sleep 0.1
	done
	return 1
}

# now_ms: epoch ms.
now_ms() {
	echo $(($(date +%s%N) / 1000000))
}

# check_proxyctl_json KIND ID: `proxyctl incidents --json` returns incident ID of KIND.
check_proxyctl_json() {
	"$PROXYCTL" incidents --db "$T/run/incidents.db" --kind "$1" --json >"$T/incidents.json" ||
		fail "proxyctl incidents failed"
	grep -q "\"id\":$2[,}]" "$T/incidents.json" || fail "incident $2 not in proxyctl incidents --json: $(cat "$T/incidents.json")"
	grep -q "\"kind\":\"$1\"" "$T/incidents.json" || fail "kind $1 not in proxyctl incidents --json"
}

# gen_pid GEN: the pid of generation GEN, from proxysv's status.
gen_pid() {
	ctl show generations --json | grep -o "\"gen\":$1,\"pid\":[0-9]*" | head -n 1 |
		grep -o '[0-9]*$'
}
