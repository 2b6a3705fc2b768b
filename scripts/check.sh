#!/bin/sh
# Installs what is missing, builds with -Werror and ASan+UBSan in build-check/,
# and runs every test (unit and integration) with `make check`.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
scripts/deps.sh
[ -x configure ] || autoreconf -fi
mkdir -p build-check
cd build-check
[ -f Makefile ] || ../configure --enable-werror --enable-sanitizers
make -j"$(nproc)"
rc=0
make -j"$(nproc)" check || rc=$?
# One plain summary line from Automake's test-suite.log.
if [ -f test-suite.log ]; then
	p=$(sed -n 's/^# PASS: *//p' test-suite.log)
	f=$(sed -n 's/^# FAIL: *//p' test-suite.log)
	e=$(sed -n 's/^# ERROR: *//p' test-suite.log)
	s=$(sed -n 's/^# SKIP: *//p' test-suite.log)
	[ "$rc" = 0 ] || cat test-suite.log
	echo "tests: ${p:-0} passed, $(( ${f:-0} + ${e:-0} )) failed, ${s:-0} skipped"
fi
exit $rc
