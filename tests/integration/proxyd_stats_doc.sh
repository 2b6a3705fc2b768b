#!/bin/sh
# proxyd-stats(7)'s column table says what proxyd/stats.c prints: the same
# names in the same order, with the same descriptions.
set -u
: "${top_srcdir:?top_srcdir must be set}"
command -v python3 >/dev/null || { echo "SKIP: python3 is needed"; exit 77; }
python3 - "$top_srcdir/proxyd/stats.c" "$top_srcdir/man/proxyd-stats.7" <<'PY'
import re, sys
code = re.findall(r'\[STAT_F_\w+\] = \{ "([^"]*)", "((?:[^"\\]|\\.)*)" \}',
                  open(sys.argv[1]).read())
man = [l.split('\t') for l in open(sys.argv[2]).read().split('\n')
       if re.match(r'^\d+\t', l)]
bad = 0
if len(code) != len(man):
    print("stats.c has %d columns, the man page %d" % (len(code), len(man)))
    bad = 1
for i, ((name, desc), row) in enumerate(zip(code, man)):
    mname, mdesc = (f.replace('\\-', '-') for f in row[1:3])
    if row[0] != str(i + 1) or mname != name or mdesc != desc:
        print("column %d: stats.c says %s: %s; the man page %s" % (i + 1, name, desc, row))
        bad = 1
print("%d columns compared" % len(code))
sys.exit(bad)
PY
