#!/bin/sh
# proxyctl diagnose: bad arguments exit 2 with one line naming the argument;
# --help prints the usage and exits 0; unknown commands exit 2 with usage.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/diag_lib.sh"
diag_timebox 60
[ -x "$PROXYCTL" ] || diag_fail "$PROXYCTL not built"
diag_setup

# expect_error WORD ARGS...: exit 2, exactly one line on stderr that names
# WORD, nothing on stdout.
expect_error() {
	word=$1
	shift
	rc=0
	"$PROXYCTL" "$@" >"$DIAG_TMP/out" 2>"$DIAG_TMP/err" || rc=$?
	[ "$rc" = 2 ] || diag_fail "'$*': exit $rc, wanted 2"
	[ ! -s "$DIAG_TMP/out" ] || diag_fail "'$*': wrote to stdout"
	[ "$(wc -l <"$DIAG_TMP/err")" = 1 ] || { cat "$DIAG_TMP/err" >&2; diag_fail "'$*': not one line"; }
	grep -q -- "$word" "$DIAG_TMP/err" || { cat "$DIAG_TMP/err" >&2; diag_fail "'$*': error does not name $word"; }
}

expect_error --port diagnose --port 0
expect_error --port diagnose --port 70000
expect_error --port diagnose --port http
expect_error --port diagnose --port
expect_error --pid diagnose --pid x
expect_error --pid diagnose --pid 0
expect_error --interval diagnose --interval -5
expect_error --interval diagnose --interval 99999999
expect_error --allow diagnose --allow 300.1.1.1:80
expect_error --allow diagnose --allow 127.0.0.1:
expect_error --netns diagnose --netns pt-diag-no-such-ns-$$
expect_error --netns diagnose --netns /nonexistent/ns/net
expect_error --bogus diagnose --bogus
expect_error extra diagnose extra
# A pid that does not exist (pid_max is at most 2^22).
expect_error --pid diagnose --pid 2147483647

# Unknown command: the error line, then the usage.
rc=0
"$PROXYCTL" frobnicate >"$DIAG_TMP/out" 2>"$DIAG_TMP/err" || rc=$?
[ "$rc" = 2 ] || diag_fail "unknown command: exit $rc"
head -n 1 "$DIAG_TMP/err" | grep -q "unknown command 'frobnicate'" || diag_fail "unknown command: first line"
grep -q '^usage: proxyctl' "$DIAG_TMP/err" || diag_fail "unknown command: no usage"
rc=0
"$PROXYCTL" >/dev/null 2>&1 || rc=$?
[ "$rc" = 2 ] || diag_fail "no command: exit $rc"

# --help: usage on stdout, exit 0, and the options the man page lists.
"$PROXYCTL" diagnose --help >"$DIAG_TMP/help" || diag_fail "--help exited $?"
for opt in --port --pid --netns --interval --allow --json --timing --help; do
	grep -q -- "$opt" "$DIAG_TMP/help" || diag_fail "--help lacks $opt"
done
"$PROXYCTL" --help | grep -q '^usage: proxyctl' || diag_fail "proxyctl --help"

# The man page's OPTIONS match --help: every option in one is in the other.
man="$top_srcdir/man/proxyctl.8"
if [ -f "$man" ]; then
	for opt in $(grep -o -- '--[a-z]*' "$DIAG_TMP/help" | sort -u); do
		grep -q -- "\\\\-\\\\-${opt#--}" "$man" || diag_fail "man page lacks $opt"
	done
fi
exit 0
