# Sourced by the benchmarks that hold many connections (diagnose.sh,
# sv_cpu.sh). The caller sets CONNMANY, PORT, tmp, helpers="" and
# nhelpers=0, and defines die.

# add_helper N NET HOLD: one more connmany process, from 127.NET.<n> (NET
# like 0.77), with N connections to PORT held HOLD seconds; returns once
# they are all open.
add_helper() {
	nhelpers=$((nhelpers + 1))
	[ $nhelpers -le 250 ] || die "too many helpers"
	out="$tmp/helper$nhelpers.out"
	"$CONNMANY" "127.$2.$nhelpers" "$PORT" "$1" "$3" >"$out" 2>"$tmp/helper$nhelpers.err" &
	helpers="$helpers $!"
	i=0
	while ! grep -q "^ready" "$out" 2>/dev/null; do
		i=$((i + 1))
		if [ $i -gt 1200 ] || ! kill -0 $! 2>/dev/null; then
			cat "$tmp/helper$nhelpers.err" >&2
			die "connmany $nhelpers not ready"
		fi
		sleep 0.05
	done
}
