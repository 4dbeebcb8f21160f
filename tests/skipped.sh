#!/bin/sh
# skipped.sh BUILDDIR - run by `make check` last: list every test that was
# skipped, with its reason (the log's last "SKIP" line, else its last line),
# so a skip is seen without reading logs.  Exits 1 when one was skipped and
# KVKIT_FAIL_ON_SKIP is set (CI sets it: a skipped suite is a failed run).
builddir=${1:-.}
list=$(find "$builddir" -name '*.trs' -exec grep -l '^:test-result: SKIP' {} + 2>/dev/null | sort)
if [ -z "$list" ]; then
    echo "make check: no test was skipped"
    exit 0
fi
n=$(printf '%s\n' "$list" | wc -l)
echo "make check: $n test(s) SKIPPED:"
for trs in $list; do
    log=${trs%.trs}.log
    why=$(grep -i 'skip' "$log" 2>/dev/null | tail -n 1)
    [ -n "$why" ] || why=$(grep -v '^[[:space:]]*$' "$log" 2>/dev/null | tail -n 1)
    printf '  %s: %s\n' "${trs%.trs}" "${why:-(no reason given)}"
done
if [ -n "${KVKIT_FAIL_ON_SKIP:-}" ]; then
    echo "make check: KVKIT_FAIL_ON_SKIP is set, so a skipped test fails the run" >&2
    exit 1
fi
exit 0
